"""Benchmark the data steps (ingest, validate, split) on growing tables, against bare pyarrow.

Usage, from the repository root in the project's virtual environment (Linux: it reads /proc)::

    python bench/bench_data.py                                  # 1,000,000 rows x 20, 5 rounds
    python bench/bench_data.py --rows 1000000 5000000 20000000 --repeats 1
    python bench/bench_data.py --rows 100000 --repeats 3

The CSV (numeric features and a binary label, from a fixed seed) is generated once per size into a
cache folder, a million rows at a time, and reused. Every measurement runs in a fresh Python
process, so that memory peaks do not leak from one measurement into the next, and the rounds
alternate the order of the measurements to spread machine noise across all of them. A measurement
reports its wall time, its peak resident memory above the process's memory just before the
measured work (the kernel's high-water mark, reset through /proc/self/clear_refs once the imports
are done), and the peak of pyarrow's memory pool above what it held before.

The bare pyarrow copy, the three steps in one process and the fingerprint run at the smallest size
only (the bare copy holds the whole table: gigabytes at 20 million rows); each step runs at every
size, and a second table gives, against the smallest size, each step's time per row (1.00x is
linear) and its peak memory (1.00x is flat).
"""

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TARGET = "label"
TIME_RATIO_TARGET = 1.5
LINEAR_TARGET = 1.3
FLAT_TARGET = 1.2
SCALED = ("ingest", "validate", "split")
"""The steps measured at every size."""
DESCRIPTIONS = {
    "bare": "bare pyarrow: `csv.read_csv` + `parquet.write_table`",
    "ingest": "`ingest_to_parquet` (CSV to Parquet, schema, fingerprint)",
    "validate": "`validate_to_report` (default rules, Markdown report)",
    "split": "`split_to_parquet` (stratified 70/15/15, 3 fingerprints)",
    "steps": "**ours: ingest + validate + split, one after another**",
    "fingerprint": "`fingerprint` alone (of the ingested table, in memory)",
}


def default_cache_dir() -> Path:
    """Where the generated CSV is kept between runs."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kfp-mlops-bench"


def generate_csv(path: Path, rows: int, columns: int, seed: int) -> None:
    """Writes ``rows`` rows of ``columns - 1`` numeric features (a fifth integers) and a label.

    A million rows at a time, each block from its own seed, so memory stays small at any size.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    features = columns - 1
    integers = max(1, features // 5)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    writer = None
    for block, start in enumerate(range(0, rows, 1_000_000)):
        count = min(1_000_000, rows - start)
        rng = np.random.default_rng([seed, block])
        data = {}
        for index in range(features - integers):
            data[f"x{index:02d}"] = np.round(rng.normal(index, 1.0 + index / 10, count), 6)
        for index in range(integers):
            data[f"n{index:02d}"] = rng.integers(0, 1000 * (index + 1), count)
        score = data["x00"] - data["x01"] + rng.normal(0.0, 1.0, count)
        data[TARGET] = (score > -1.0).astype(np.int64)  # -1: about the median of the score
        table = pa.table(data)
        if writer is None:
            writer = pacsv.CSVWriter(partial, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()
    partial.replace(path)


def _memory_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _work(kind: str, csv_path: str, dataset_path: str, folder: Path) -> Callable[[], object]:
    """The function one measurement times; its imports and inputs are ready before timing."""
    import pyarrow.csv as pacsv
    import pyarrow.dataset  # noqa: F401 (imported on first read by pyarrow.parquet, with pandas)
    import pyarrow.parquet as pq

    from kfp_mlops.components.common.tables import fingerprint, read_parquet
    from kfp_mlops.components.data.ingest import ingest_to_parquet
    from kfp_mlops.components.data.split import split_to_parquet
    from kfp_mlops.components.data.validate import validate_to_report

    ingested = str(folder / "dataset.parquet")
    report = str(folder / "report.md")
    parts = {name: str(folder / f"{name}.parquet") for name in ("train", "validation", "test")}

    def bare() -> None:
        pq.write_table(pacsv.read_csv(csv_path), folder / "bare.parquet")

    def steps() -> None:
        ingest_to_parquet(csv_path, ingested)
        validate_to_report(ingested, report, TARGET)
        split_to_parquet(ingested, parts, TARGET)

    if kind == "fingerprint":
        table = read_parquet(dataset_path)
        return lambda: fingerprint(table)
    return {
        "bare": bare,
        "ingest": lambda: ingest_to_parquet(csv_path, ingested),
        "validate": lambda: validate_to_report(dataset_path, report, TARGET),
        "split": lambda: split_to_parquet(dataset_path, parts, TARGET),
        "steps": steps,
    }[kind]


def worker(kind: str, csv_path: str, dataset_path: str) -> dict[str, float]:
    """Runs one measurement in this (fresh) process and returns its numbers."""
    import pyarrow as pa

    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as folder:
        work = _work(kind, csv_path, dataset_path, Path(folder))
        pool = pa.default_memory_pool()
        pool_before = pool.bytes_allocated()
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) to the current RSS
        rss_before = _memory_kib("VmRSS")
        with contextlib.redirect_stdout(io.StringIO()):  # the validation report goes to the log
            start = time.perf_counter()
            work()
            seconds = time.perf_counter() - start
        peak_kib = _memory_kib("VmHWM")
    return {
        "seconds": seconds,
        "peak_rss_delta": (peak_kib - rss_before) * 1024,
        "pool_peak": pool.max_memory() - pool_before,
    }


def _measure(kind: str, csv_path: Path, dataset_path: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--worker", kind, str(csv_path), str(dataset_path)]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _mib(value: float) -> str:
    return f"{value / 2**20:,.0f}"


def markdown_table(results: dict[str, list[dict]], table_bytes: int) -> list[str]:
    """One row per measurement: best and median time, the worst memory peaks, and the ratios."""
    bare = min(run["seconds"] for run in results["bare"])
    lines = [
        "| measurement | best s | median s | best / bare best | peak RSS Δ MiB (max) "
        "| Arrow pool peak MiB (max) | peak RSS Δ / table |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, runs in results.items():
        times = [run["seconds"] for run in runs]
        peak = max(run["peak_rss_delta"] for run in runs)
        cells = [
            DESCRIPTIONS[kind],
            f"{min(times):.2f}",
            f"{statistics.median(times):.2f}",
            f"{min(times) / bare:.2f}x",
            _mib(peak),
            _mib(max(run["pool_peak"] for run in runs)),
            f"{peak / table_bytes:.2f}x",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def scaling_table(by_size: dict[int, dict[str, list[dict]]]) -> list[str]:
    """Per step and size: best time, and time per row and peak memory against the smallest size."""
    sizes = sorted(by_size)
    smallest = sizes[0]
    lines = [
        "| step | rows | best s | time per row / at smallest | peak RSS Δ MiB (max) "
        "| peak / at smallest |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind in SCALED:
        base = by_size[smallest][kind]
        base_time = min(run["seconds"] for run in base) / smallest
        base_peak = max(run["peak_rss_delta"] for run in base)
        for rows in sizes:
            runs = by_size[rows][kind]
            best = min(run["seconds"] for run in runs)
            peak = max(run["peak_rss_delta"] for run in runs)
            lines.append(
                f"| {kind} | {rows:,} | {best:.2f} | {best / rows / base_time:.2f}x "
                f"| {_mib(peak)} | {peak / base_peak:.2f}x |"
            )
    return lines


def _csv(arguments: argparse.Namespace, rows: int) -> Path:
    name = f"data-v2-{rows}x{arguments.columns}-seed{arguments.seed}.csv"
    csv_path = arguments.cache_dir / name
    if not csv_path.exists():
        print(f"generating {csv_path} ...", file=sys.stderr)
        generate_csv(csv_path, rows, arguments.columns, arguments.seed)
    return csv_path


def _arrow_bytes(path: Path) -> int:
    """The size of the dataset as Arrow columns (uncompressed Parquet pages, about the same)."""
    import pyarrow.parquet as pq

    metadata = pq.read_metadata(path)
    return sum(
        metadata.row_group(group).column(index).total_uncompressed_size
        for group in range(metadata.num_row_groups)
        for index in range(metadata.num_columns)
    )


def _measure_size(
    arguments: argparse.Namespace, rows: int, kinds: list[str], folder: Path
) -> tuple[dict[str, list[dict]], int]:
    from kfp_mlops.components.data.ingest import ingest_to_parquet

    csv_path = _csv(arguments, rows)
    dataset_path = folder / f"dataset-{rows}.parquet"
    ingest_to_parquet(str(csv_path), str(dataset_path))
    results: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for round_number in range(arguments.repeats):
        order = kinds if round_number % 2 == 0 else kinds[::-1]
        for kind in order:
            results[kind].append(_measure(kind, csv_path, dataset_path))
            print(f"{rows} round {round_number + 1} {kind}: {results[kind][-1]}", file=sys.stderr)
    size = _arrow_bytes(dataset_path)
    dataset_path.unlink()
    return results, size


def main() -> None:
    """Generates the data if needed, runs every measurement, prints Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--columns", type=int, default=20, help="features and the label")
    parser.add_argument("--repeats", type=int, default=5, help="rounds of every measurement")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--only", nargs="+", choices=DESCRIPTIONS, default=list(DESCRIPTIONS))
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)  # KIND CSV DATASET
    arguments = parser.parse_args()
    if arguments.worker:
        print(json.dumps(worker(*arguments.worker)))
        return
    if "bare" not in arguments.only:
        parser.error("--only needs bare: it is the baseline of the ratios")

    import pyarrow as pa

    sizes = sorted(arguments.rows)
    by_size: dict[int, dict[str, list[dict]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-data-") as folder:
        for rows in sizes:
            kinds = [kind for kind in arguments.only if rows == sizes[0] or kind in SCALED]
            by_size[rows], table_bytes = _measure_size(arguments, rows, kinds, Path(folder))
            if rows == sizes[0]:
                smallest_bytes = table_bytes

    smallest = sizes[0]
    csv_mib = _csv(arguments, smallest).stat().st_size / 2**20
    print(
        f"{smallest:,} rows x {arguments.columns} columns: CSV {csv_mib:,.0f} MiB, Arrow table "
        f"{smallest_bytes / 2**20:,.0f} MiB. {arguments.repeats} rounds. Python "
        f"{platform.python_version()}, pyarrow {pa.__version__}, {os.cpu_count()} CPUs, memory "
        f"pool {pa.default_memory_pool().backend_name}.\n"
    )
    first = by_size[smallest]
    print("\n".join(markdown_table(first, smallest_bytes)))
    if "steps" in first:
        steps = [run["seconds"] for run in first["steps"]]
        bare = [run["seconds"] for run in first["bare"]]
        paired = statistics.median(ours / base for ours, base in zip(steps, bare, strict=True))
        print(
            f"\nours / bare time at {smallest:,} rows: best {min(steps) / min(bare):.2f}x, median "
            f"{statistics.median(steps) / statistics.median(bare):.2f}x, median of the rounds' "
            f"ratios {paired:.2f}x (target <= {TIME_RATIO_TARGET:g}x)"
        )
    if len(sizes) > 1:
        print("\n" + "\n".join(scaling_table(by_size)))
        print(
            f"\ntargets: time per row within {LINEAR_TARGET:g}x of the smallest size's, peak "
            f"memory within {FLAT_TARGET:g}x"
        )


if __name__ == "__main__":
    main()

"""Benchmark the data steps (ingest, validate, split) against a bare pyarrow CSV-to-Parquet copy.

Usage, from the repository root in the project's virtual environment (Linux: it reads /proc)::

    python bench/bench_data.py                      # 1,000,000 rows x 20 columns, 5 rounds
    python bench/bench_data.py --rows 100000 --repeats 3

The CSV (numeric features and a binary label, from a fixed seed) is generated once into a cache
folder and reused. Every measurement runs in a fresh Python process, so that memory peaks do not
leak from one measurement into the next, and the rounds alternate the order of the measurements to
spread machine noise across all of them. A measurement reports its wall time, its peak resident
memory above the process's memory just before the measured work (the kernel's high-water mark,
reset through /proc/self/clear_refs once the imports are done), and the peak of pyarrow's memory
pool above what it held before.
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
TIME_RATIO_TARGET = 2.0
MEMORY_RATIO_TARGET = 3.0
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
    """Writes ``rows`` rows of ``columns - 1`` numeric features (a fifth integers) and a label."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    features = columns - 1
    integers = max(1, features // 5)
    data = {}
    for index in range(features - integers):
        data[f"x{index:02d}"] = np.round(rng.normal(index, 1.0 + index / 10, rows), 6)
    for index in range(integers):
        data[f"n{index:02d}"] = rng.integers(0, 1000 * (index + 1), rows)
    score = data["x00"] - data["x01"] + rng.normal(0.0, 1.0, rows)
    data[TARGET] = (score > np.median(score)).astype(np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    pacsv.write_csv(pa.table(data), partial)
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


def main() -> None:
    """Generates the data if needed, runs every measurement, prints a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
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

    from kfp_mlops.components.common.tables import read_parquet
    from kfp_mlops.components.data.ingest import ingest_to_parquet

    name = f"data-{arguments.rows}x{arguments.columns}-seed{arguments.seed}.csv"
    csv_path = arguments.cache_dir / name
    if not csv_path.exists():
        print(f"generating {csv_path} ...", file=sys.stderr)
        generate_csv(csv_path, arguments.rows, arguments.columns, arguments.seed)
    results: dict[str, list[dict]] = {kind: [] for kind in arguments.only}
    with tempfile.TemporaryDirectory(prefix="bench-data-") as folder:
        dataset_path = Path(folder) / "dataset.parquet"
        ingest_to_parquet(str(csv_path), str(dataset_path))
        table_bytes = read_parquet(dataset_path).nbytes
        for round_number in range(arguments.repeats):
            order = arguments.only if round_number % 2 == 0 else arguments.only[::-1]
            for kind in order:
                results[kind].append(_measure(kind, csv_path, dataset_path))
                print(f"round {round_number + 1} {kind}: {results[kind][-1]}", file=sys.stderr)

    csv_mib, table_mib = csv_path.stat().st_size / 2**20, table_bytes / 2**20
    print(
        f"{arguments.rows:,} rows x {arguments.columns} columns: CSV {csv_mib:,.0f} MiB, Arrow "
        f"table {table_mib:,.0f} MiB. {arguments.repeats} rounds. Python "
        f"{platform.python_version()}, pyarrow {pa.__version__}, {os.cpu_count()} CPUs, "
        f"memory pool {pa.default_memory_pool().backend_name}.\n"
    )
    print("\n".join(markdown_table(results, table_bytes)))
    if "steps" in results:
        steps = [run["seconds"] for run in results["steps"]]
        bare = [run["seconds"] for run in results["bare"]]
        paired = statistics.median(ours / base for ours, base in zip(steps, bare, strict=True))
        memory = max(run["peak_rss_delta"] for run in results["steps"]) / table_bytes
        print(
            f"\nours / bare time: best {min(steps) / min(bare):.2f}x, median "
            f"{statistics.median(steps) / statistics.median(bare):.2f}x, median of the rounds' "
            f"ratios {paired:.2f}x (target <= {TIME_RATIO_TARGET:g}x); peak memory / table: "
            f"{memory:.2f}x (target <= {MEMORY_RATIO_TARGET:g}x)"
        )


if __name__ == "__main__":
    main()

"""Benchmark the drift check against a plain numpy/scipy computation of the same PSI and KS values.

Usage, from the repository root in the project's virtual environment::

    python bench/bench_drift.py                     # 1,000,000 rows x 20 features, 5 rounds
    python bench/bench_drift.py --rows 100000 --repeats 3

Two Parquet files (reference and current, numeric features from a fixed seed, a few missing values,
three features of the current data shifted by 0.02, 0.1 and 0.5 standard deviations) are generated
once into a cache folder and reused. Both sides start from those files and read them with pyarrow:

- **baseline**: per feature, the present values as numpy arrays, reference deciles with
  ``numpy.quantile``, bin counts with ``numpy.histogram``, PSI by its formula (shares floored at
  1e-4, missing values in their own bin) and ``scipy.stats.ks_2samp``;
- **ours**: ``detect_drift_to_files``, the whole step: read, compare (PSI, KS, Holm, the decision),
  write the metrics JSON and the HTML report.

The rounds alternate which side runs first; the table gives the best and median wall time and the
ratio ours/baseline, and checks that both sides computed the same numbers (largest difference of
every PSI, KS statistic and KS p-value).
"""

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats

RATIO_TARGET = 1.5
EPSILON = 1e-4
BINS = 10
SHIFTS = {"x00": 0.02, "x01": 0.1, "x02": 0.5}


def default_cache_dir() -> Path:
    """Where the generated Parquet files are kept between runs."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kfp-mlops-bench"


def generate(folder: Path, rows: int, features: int, seed: int) -> tuple[Path, Path]:
    """Writes reference.parquet and current.parquet once per size and seed; returns the paths."""
    folder = folder / f"drift-{rows}x{features}-{seed}"
    paths = (folder / "reference.parquet", folder / "current.parquet")
    if all(path.exists() for path in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    integers = max(1, features // 5)
    for path, shifted in zip(paths, (False, True), strict=True):
        data = {}
        for index in range(features - integers):
            name = f"x{index:02d}"
            scale = 1.0 + index / 10
            shift = SHIFTS.get(name, 0.0) * scale if shifted else 0.0
            values = rng.normal(index + shift, scale, rows)
            if index in (3, 4):  # some missing values
                values[rng.random(rows) < 0.005] = np.nan
            data[name] = values
        for index in range(integers):
            data[f"n{index:02d}"] = rng.integers(0, 100 * (index + 1), rows)
        partial = path.with_name(f".{path.name}.partial")
        pq.write_table(pa.table(data), partial)
        partial.replace(path)
    return paths


def baseline(reference_path: Path, current_path: Path) -> dict[str, tuple[float, float, float]]:
    """Plain numpy/scipy: feature to (PSI, KS statistic, KS p-value)."""
    reference = pq.read_table(reference_path)
    current = pq.read_table(current_path)
    found = {}
    for name in reference.column_names:
        ref = reference.column(name).to_numpy().astype(np.float64)
        cur = current.column(name).to_numpy().astype(np.float64)
        ref_missing, cur_missing = np.isnan(ref), np.isnan(cur)
        ref_present, cur_present = ref[~ref_missing], cur[~cur_missing]
        inner = np.unique(np.quantile(ref_present, np.linspace(0, 1, BINS + 1)[1:-1]))
        edges = np.concatenate([[-np.inf], inner, [np.inf]])
        ref_counts = np.histogram(ref_present, edges)[0].astype(np.float64)
        cur_counts = np.histogram(cur_present, edges)[0].astype(np.float64)
        if ref_missing.any() or cur_missing.any():
            ref_counts = np.append(ref_counts, ref_missing.sum())
            cur_counts = np.append(cur_counts, cur_missing.sum())
        p = np.maximum(ref_counts / ref_counts.sum(), EPSILON)
        q = np.maximum(cur_counts / cur_counts.sum(), EPSILON)
        psi = float(np.sum((q - p) * np.log(q / p)))
        ks = stats.ks_2samp(ref_present, cur_present)
        found[name] = (psi, float(ks.statistic), float(ks.pvalue))
    return found


def ours(reference_path: Path, current_path: Path, out: Path) -> dict[str, tuple]:
    """The drift step: feature to (PSI, KS statistic, KS p-value)."""
    from kfp_mlops.components.monitoring.drift import Thresholds
    from kfp_mlops.components.monitoring.drift_check import detect_drift_to_files

    result = detect_drift_to_files(
        str(reference_path),
        str(current_path),
        str(out / "metrics.json"),
        str(out / "report.html"),
        Thresholds(bins=BINS),
    )
    return {f.name: (f.psi, f.ks.statistic, f.ks.pvalue) for f in result.features}


def largest_differences(first: dict, second: dict) -> tuple[float, float, float]:
    """The largest absolute difference of PSI, KS statistic and p-value over the features."""
    assert first.keys() == second.keys()
    return tuple(
        max(abs(first[name][index] - second[name][index]) for name in first) for index in range(3)
    )


def main() -> None:
    """Runs the rounds and prints the markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    arguments = parser.parse_args()

    import contextlib
    import io

    reference_path, current_path = generate(
        arguments.cache_dir, arguments.rows, arguments.features, arguments.seed
    )
    times: dict[str, list[float]] = {"baseline": [], "ours": []}
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder:
        runs = {
            "baseline": lambda: baseline(reference_path, current_path),
            "ours": lambda: ours(reference_path, current_path, Path(folder)),
        }
        for round_index in range(arguments.repeats):
            order = ["baseline", "ours"] if round_index % 2 == 0 else ["ours", "baseline"]
            for name in order:
                started = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):  # the step prints its reasons
                    results[name] = runs[name]()
                times[name].append(time.perf_counter() - started)
    psi, statistic, pvalue = largest_differences(results["baseline"], results["ours"])
    best = {name: min(values) for name, values in times.items()}
    median = {name: statistics.median(values) for name, values in times.items()}

    print(
        f"Drift check, {arguments.rows:,} rows x {arguments.features} features per dataset, "
        f"{arguments.repeats} rounds, {platform.python_version()}, {os.cpu_count()} CPUs\n"
    )
    print("| measurement | best (s) | median (s) | ratio to baseline (best / median) |")
    print("| --- | --- | --- | --- |")
    print(
        f"| baseline: numpy quantile + histogram, PSI formula, scipy ks_2samp | "
        f"{best['baseline']:.2f} | {median['baseline']:.2f} | 1.00 / 1.00 |"
    )
    print(
        f"| **ours: detect_drift_to_files** (PSI, KS, Holm, decision, metrics + HTML) | "
        f"{best['ours']:.2f} | {median['ours']:.2f} | "
        f"{best['ours'] / best['baseline']:.2f} / {median['ours'] / median['baseline']:.2f} |"
    )
    verdict = "met" if median["ours"] <= RATIO_TARGET * median["baseline"] else "NOT met"
    print(
        f"\nTarget ours <= {RATIO_TARGET}x baseline (median): {verdict}. Same numbers: largest "
        f"difference of PSI {psi:.3g}, KS statistic {statistic:.3g}, KS p-value {pvalue:.3g}."
    )


if __name__ == "__main__":
    main()

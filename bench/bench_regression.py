"""Benchmark regression evaluation against bare scikit-learn, and tabular-regression per step.

Usage, from the repository root in the project's virtual environment::

    python bench/bench_regression.py                          # 1,000,000 rows, 7 rounds, 1 run
    python bench/bench_regression.py --rows 200000 --rounds 3 --pipeline-runs 0

Two measurements:

- **metrics**: on the same 1,000,000 float64 actual values and predictions, ``regression_metrics``
  (what ``evaluate_regressor`` computes: RMSE, MAE, R², MAPE with its zero-target rule, median and
  max absolute error) against the six bare ``sklearn.metrics`` calls (``root_mean_squared_error``,
  ``mean_absolute_error``, ``r2_score``, ``mean_absolute_percentage_error``,
  ``median_absolute_error``, ``max_error``), alternating which goes first from round to round. Also
  timed: the HTML report (two matplotlib PNGs of a 5,000-row sample), which sklearn has no
  counterpart for, reported separately.
- **pipeline**: ``kfp-mlops run tabular-regression --json`` on scikit-learn's diabetes data in a
  fresh run folder; each step's seconds as the command reports them (kfp.local's task start to
  finish: process start, imports, executor and the step's work).

The machine may be shared (it was: 2 cores, several engineers), so compare within one run only.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn import metrics as skm

from kfp_mlops.components.common.regression_metrics import regression_metrics
from kfp_mlops.components.evaluation.regression_report import render_html


def bare_sklearn(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """The six metrics as six scikit-learn calls."""
    return {
        "rmse": skm.root_mean_squared_error(actual, predicted),
        "mae": skm.mean_absolute_error(actual, predicted),
        "r2": skm.r2_score(actual, predicted),
        "mape": skm.mean_absolute_percentage_error(actual, predicted),
        "median_absolute_error": skm.median_absolute_error(actual, predicted),
        "max_error": skm.max_error(actual, predicted),
    }


def _timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def bench_metrics(rows: int, rounds: int) -> dict[str, object]:
    """Best and median seconds of ours and bare sklearn, and the ratio of the medians."""
    random = np.random.default_rng(0)
    actual = random.gamma(2.0, 50.0, rows) + 1.0  # positive: sklearn's MAPE is then the same
    predicted = actual + random.normal(0.0, 20.0, rows)
    ours_scores = regression_metrics(actual, predicted).scalars
    for name, value in bare_sklearn(actual, predicted).items():
        assert abs(ours_scores[name] - value) <= 1e-9 * max(1.0, abs(value)), name
    ours, bare, paired = [], [], []
    for index in range(rounds):
        measure = {
            "ours": lambda: regression_metrics(actual, predicted),
            "bare": lambda: bare_sklearn(actual, predicted),
        }
        order = ["ours", "bare"] if index % 2 == 0 else ["bare", "ours"]
        seconds = {name: _timed(measure[name]) for name in order}
        ours.append(seconds["ours"])
        bare.append(seconds["bare"])
        paired.append(seconds["ours"] / seconds["bare"])
    result = regression_metrics(actual, predicted)
    report = [_timed(lambda: render_html(result, "target", "bench")) for _ in range(3)]
    return {
        "rows": rows,
        "rounds": rounds,
        "ours_best_s": min(ours),
        "ours_median_s": statistics.median(ours),
        "bare_best_s": min(bare),
        "bare_median_s": statistics.median(bare),
        "ratio_of_medians": statistics.median(ours) / statistics.median(bare),
        "median_paired_ratio": statistics.median(paired),
        "report_median_s": statistics.median(report),
    }


def bench_pipeline(runs: int) -> list[dict[str, float]]:
    """Per-step seconds of ``kfp-mlops run tabular-regression`` on diabetes, one dict per run."""
    cli = str(Path(sys.executable).parent / "kfp-mlops")
    found = []
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "diabetes.csv"
        subprocess.run([cli, "sample-data", "diabetes", str(data)], check=True, capture_output=True)
        for run in range(runs):
            command = [cli, "run", "tabular-regression", "--json", "--run-dir"]
            command += [str(Path(folder) / f"run-{run}"), "--param", f"data_uri={data}"]
            command += ["--param", "target_column=target"]
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True)
            wall = time.perf_counter() - start
            summary = json.loads(done.stdout)
            assert summary["status"] == "succeeded", summary["error"]
            steps = {
                step["name"]: step["seconds"]
                for step in summary["steps"]
                if step["status"] == "succeeded"
            }
            found.append({**steps, "(whole command, wall)": wall})
    return found


def main() -> None:
    """Runs both benchmarks and prints Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--pipeline-runs", type=int, default=1)
    args = parser.parse_args()
    metrics = bench_metrics(args.rows, args.rounds)
    rows = [
        ("ours: regression_metrics", metrics["ours_best_s"], metrics["ours_median_s"]),
        ("bare: six sklearn.metrics calls", metrics["bare_best_s"], metrics["bare_median_s"]),
    ]
    print(f"## regression_metrics vs bare sklearn, {args.rows:,} rows, {args.rounds} rounds")
    print("| measurement | best s | median s |\n| --- | ---: | ---: |")
    for name, best, median in rows:
        print(f"| {name} | {best:.4f} | {median:.4f} |")
    print(f"| ours / bare, medians (target <= 1.5x) | | {metrics['ratio_of_medians']:.2f}x |")
    print(f"| ours / bare, median of paired rounds | | {metrics['median_paired_ratio']:.2f}x |")
    print(f"| HTML report (two PNGs), median of 3 | | {metrics['report_median_s']:.3f} |")
    runs = bench_pipeline(args.pipeline_runs)
    if runs:
        print(f"\n## kfp-mlops run tabular-regression on diabetes, {len(runs)} run(s), seconds")
        print("| step | " + " | ".join(f"run {n + 1}" for n in range(len(runs))) + " |")
        print("| --- |" + " ---: |" * len(runs))
        for step in runs[0]:
            print(f"| {step} | " + " | ".join(f"{run.get(step, 0.0):.2f}" for run in runs) + " |")


if __name__ == "__main__":
    main()

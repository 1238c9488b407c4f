"""Benchmark ONNX Runtime against scikit-learn predicting with the same trained model.

Usage, from the repository root in the project's virtual environment::

    python bench/bench_onnx.py                  # 7 rounds
    python bench/bench_onnx.py --rounds 11

Models: a logistic regression and a 100-tree random forest, trained by ``train_to_directory`` on
scikit-learn's breast-cancer data, so each directory holds ``model.joblib`` and the ONNX export
training writes (``onnx/model/1/model.onnx``, one FP32 input per column).

Measured, for 1 row and for 1,000 rows (sampled with replacement from the data, fixed seed):

- ``sklearn``: ``model.predict(frame)`` on a DataFrame of the feature columns, as the KServe
  sklearn runtime calls it for a pandas request;
- ``onnxruntime``: ``session.run(["label"], feeds)`` with the feeds already built (one
  ``float32 [rows, 1]`` array per column), as Triton's ONNX Runtime backend runs the model;
- ``onnxruntime + feeds``: ``OnnxClassifier.run(frame)``, i.e. building the feeds from the same
  DataFrame and running both outputs, what the serve-check does.

Each timing is the median per-call time of a loop long enough to take about 0.2 s; every round
alternates the order of the three, and the table shows the best and the median over rounds.
Both run single-threaded (``intra_op_num_threads=1``; scikit-learn's predict is single-threaded
for these models) so that the comparison is per core.
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROWS = (1, 1000)
MODELS = {"logistic_regression": {}, "random_forest": {"n_estimators": 100}}


def per_call_seconds(function: Callable[[], object], budget: float = 0.2) -> float:
    """The median time of one call, over batches filling about ``budget`` seconds."""
    function()
    started = time.perf_counter()
    calls = 0
    while time.perf_counter() - started < 0.02:
        function()
        calls += 1
    per_batch = max(1, int(calls * budget / 0.02 / 5))
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(per_batch):
            function()
        samples.append((time.perf_counter() - started) / per_batch)
    return statistics.median(samples)


def prepare(folder: Path) -> tuple[object, dict[str, Path], dict]:
    import pandas as pd
    from sklearn.datasets import load_breast_cancer

    from kfp_mlops.components.training.train import train_to_directory

    frame = load_breast_cancer(as_frame=True).frame
    frame.to_parquet(folder / "train.parquet")
    directories, metadata = {}, {}
    for name, hyperparameters in MODELS.items():
        directories[name] = folder / name
        metadata[name] = train_to_directory(
            str(folder / "train.parquet"), str(directories[name]), "target", name, hyperparameters
        )
    features = frame.drop(columns=["target"]).astype("float64")
    return pd.DataFrame(features), directories, metadata


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    import onnxruntime

    from kfp_mlops.components.common.model_io import load_sklearn_model
    from kfp_mlops.components.common.onnx_model import OnnxClassifier

    results: dict[tuple[str, int, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-onnx-") as work:
        features, directories, metadata = prepare(Path(work))
        for name, folder in directories.items():
            model = load_sklearn_model(folder)
            classifier = OnnxClassifier(folder, metadata[name])
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(
                str(classifier.path), options, providers=["CPUExecutionProvider"]
            )
            classifier.session = session
            for rows in ROWS:
                frame = features.sample(n=rows, replace=True, random_state=rows).reset_index(
                    drop=True
                )
                feeds = {
                    input_name: array for input_name, _, array in classifier.layout.tensors(frame)
                }
                assert (session.run(["label"], feeds)[0] == model.predict(frame)).mean() >= 0.99
                work_items = {
                    "sklearn": lambda m=model, f=frame: m.predict(f),
                    "onnxruntime": lambda s=session, d=feeds: s.run(["label"], d),
                    "onnxruntime + feeds": lambda c=classifier, f=frame: c.run(f),
                }
                for round_number in range(args.rounds):
                    order = list(work_items)
                    if round_number % 2:
                        order.reverse()
                    for kind in order:
                        seconds = per_call_seconds(work_items[kind])
                        results.setdefault((name, rows, kind), []).append(seconds)
                print(f"{name} {rows} rows done", file=sys.stderr)

    print(
        f"Machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, onnxruntime {onnxruntime.__version__}; {args.rounds} "
        "rounds, single-threaded.\n"
    )
    print(
        "| model | rows | sklearn predict µs (best / median) | onnxruntime µs (best / median) "
        "| speed-up (best, median) | onnxruntime + feeds µs (best / median) | speed-up |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in MODELS:
        for rows in ROWS:
            cell = {}
            for kind in ("sklearn", "onnxruntime", "onnxruntime + feeds"):
                values = [value * 1e6 for value in results[(name, rows, kind)]]
                cell[kind] = (min(values), statistics.median(values))
            base = cell["sklearn"]
            print(
                f"| {name} | {rows} | {base[0]:.1f} / {base[1]:.1f} "
                f"| {cell['onnxruntime'][0]:.1f} / {cell['onnxruntime'][1]:.1f} "
                f"| {base[0] / cell['onnxruntime'][0]:.1f}x, "
                f"{base[1] / cell['onnxruntime'][1]:.1f}x "
                f"| {cell['onnxruntime + feeds'][0]:.1f} / {cell['onnxruntime + feeds'][1]:.1f} "
                f"| {base[0] / cell['onnxruntime + feeds'][0]:.1f}x, "
                f"{base[1] / cell['onnxruntime + feeds'][1]:.1f}x |"
            )


if __name__ == "__main__":
    main()

"""Training throughput of train_pytorch against a bare PyTorch loop, same model and data, same run.

    python bench/bench_torch.py [--repeats 3] [--epochs 8] [--rows 40000]

Two workloads: an MLP (hidden [128, 64]) on a synthetic table of ``--rows`` rows and 64 numeric
columns, and the CNN on scikit-learn's 8x8 digits (the 64 pixel columns; the train split repeated
to ``--rows`` rows so that an epoch is long enough to time). Both sides train the same network
(built by the same code, same seed) on the same float32 tensors, with AdamW, batch 64, the same
number of epochs, on this machine's CPU (or its GPU, when there is one):

- ``bare loop``: the tensors in memory, a ``randperm`` per epoch, forward, cross-entropy, backward,
  step; samples/s of each epoch's training loop.
- ``train_pytorch``: ``train_pytorch_to_directory`` as the component calls it; its samples/s is
  the figure it logs for each epoch (the training loop only, the same span the bare loop times).
  Its wall time also covers reading Parquet, validating every epoch, checkpoints and the exports.

After one untimed warm-up epoch per workload, runs alternate (bare, ours, bare, ours...) so that
load from other processes hits both alike; each run's figure is the median of its epochs. The table
shows the median and the best of the runs, the best against the best, and the median of the
ratios of each alternating pair (the figure least moved by load that comes and goes).
"""

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from torch.nn import functional

from kfp_mlops.components.common.tables import write_parquet
from kfp_mlops.components.training.torch_data import read_training_data
from kfp_mlops.components.training.torch_models import build_classifier, resolve_hyperparameters
from kfp_mlops.components.training.torch_train import TrainingSettings, train_pytorch_to_directory

BATCH = 64
LEARNING_RATE = 1e-3


def synthetic_tables(rows: int, seed: int = 1) -> tuple[pa.Table, pa.Table]:
    """``rows`` train and ``rows / 5`` validation rows: 64 numbers, a 4-class label made of them."""
    generator = np.random.default_rng(seed)
    total = rows + rows // 5
    features = generator.normal(size=(total, 64)).astype(np.float32)
    weights = generator.normal(size=(64, 4))
    label = np.argmax(features @ weights + generator.normal(size=(total, 4)), axis=1)
    table = pa.table({**{f"x{i}": features[:, i] for i in range(64)}, "target": label})
    return table.slice(0, rows), table.slice(rows)


def digits_tables(rows: int) -> tuple[pa.Table, pa.Table]:
    """Digits train rows repeated to ``rows`` rows, and the rest as validation."""
    from sklearn.datasets import load_digits

    frame = load_digits(as_frame=True).frame
    validation = frame.sample(frac=0.2, random_state=0)
    train = frame.drop(validation.index)
    repeated = train.iloc[np.resize(np.arange(len(train)), rows)]
    return (
        pa.Table.from_pandas(repeated, preserve_index=False),
        pa.Table.from_pandas(validation, preserve_index=False),
    )


def bare_loop(train_path: str, validation_path: str, architecture: str, epochs: int) -> float:
    """Median samples/s of a plain training loop over the same tensors and network."""
    data = read_training_data(train_path, validation_path, "target")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    n_features = len(data.feature_columns)
    torch.manual_seed(42)
    model = build_classifier(
        architecture,
        resolve_hyperparameters(architecture, bench_hyperparameters(architecture), n_features),
        n_features,
        len(data.classes),
    )
    model.set_statistics(data.train.features)
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=1e-4)
    features, labels = data.train.features.to(device), data.train.labels.to(device)
    rates = []
    for _ in range(epochs):
        order = torch.randperm(len(labels)).to(device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        for begin in range(0, len(order), BATCH):
            index = order[begin : begin + BATCH]
            loss = functional.cross_entropy(model(features[index]), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        rates.append(len(order) / (time.perf_counter() - started))
    return statistics.median(rates)


def bench_hyperparameters(architecture: str) -> dict[str, object]:
    return {"hidden_sizes": [128, 64]} if architecture == "mlp" else {}


def ours(
    train_path: str, validation_path: str, architecture: str, epochs: int, folder: Path
) -> tuple[float, float]:
    """train_pytorch's median logged samples/s, and its wall time in seconds."""
    settings = TrainingSettings(
        architecture=architecture,
        hyperparameters=bench_hyperparameters(architecture),
        max_epochs=epochs,
        batch_size=BATCH,
        learning_rate=LEARNING_RATE,
        patience=epochs,
        checkpoint_every=5,
    )
    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # its epoch lines; stdout is the table
        metadata = train_pytorch_to_directory(
            train_path, validation_path, str(folder / "model"), "target", settings
        )
    return float(metadata["samples_per_second"]), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--rows", type=int, default=40_000)
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)"
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        digits_train, digits_validation = digits_tables(args.rows)
        workloads = {
            "mlp": synthetic_tables(args.rows),
            "cnn": (digits_train, digits_validation),
        }
        for architecture, (train, validation) in workloads.items():
            train_path, validation_path = root / f"{architecture}-train.parquet", root / "v.parquet"
            write_parquet(train, train_path)
            write_parquet(validation, validation_path)
            # Untimed: the first epochs of a process pay for kernel selection and page faults.
            bare_loop(str(train_path), str(validation_path), architecture, 1)
            bare, mine, walls = [], [], []
            for repeat in range(args.repeats):
                bare.append(
                    bare_loop(str(train_path), str(validation_path), architecture, args.epochs)
                )
                rate, wall = ours(
                    str(train_path),
                    str(validation_path),
                    architecture,
                    args.epochs,
                    root / str(repeat),
                )
                mine.append(rate)
                walls.append(wall)
                print(
                    f"{architecture} run {repeat + 1}: bare {bare[-1]:,.0f} samples/s, "
                    f"train_pytorch {rate:,.0f} samples/s ({wall:.1f} s wall)",
                    file=sys.stderr,
                    flush=True,
                )
            rows.append((architecture, train.num_rows, bare, mine, walls))
    print(
        f"\nDevice: {device}; torch {torch.__version__}; {args.epochs} epochs, batch {BATCH}, "
        f"{args.repeats} alternating runs each.\n"
    )
    print(
        "| model | train rows | bare loop samples/s (median / best) | train_pytorch samples/s "
        "(median / best) | best / best | median of run-pair ratios | train_pytorch wall s "
        "(median) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for architecture, count, bare, mine, walls in rows:
        pairs = [ours_rate / bare_rate for ours_rate, bare_rate in zip(mine, bare, strict=True)]
        print(
            f"| {architecture} | {count:,} | {statistics.median(bare):,.0f} / {max(bare):,.0f} | "
            f"{statistics.median(mine):,.0f} / {max(mine):,.0f} | {max(mine) / max(bare):.1%} | "
            f"{statistics.median(pairs):.1%} | {statistics.median(walls):.1f} |"
        )


if __name__ == "__main__":
    main()

"""Multi-node training on CPU: two node processes against one, and the distributed path's cost.

    python bench/bench_distributed.py [--repeats 2] [--epochs 4] [--rows 20000]

The CNN of image-classification on scikit-learn's 8x8 digits (the train split repeated to
``--rows`` rows so an epoch is long enough to time), batch 64, AdamW, on this machine's CPU. Four
configurations, each run in a fresh process (so thread settings cannot leak), alternating so that
load from other processes hits all alike:

- ``train_pytorch, 1 process x 2 threads``: ``train_pytorch_to_directory`` with
  ``torch.set_num_threads(2)``;
- ``2 nodes x 1 process, 1 thread each``: two node processes started as Kubeflow Trainer starts
  them (``python -m torch.distributed.run -m kfp_mlops.components.training.distributed_node`` with
  PET_NNODES=2, PET_NPROC_PER_NODE=1, PET_NODE_RANK, PET_MASTER_ADDR=127.0.0.1, PET_MASTER_PORT),
  OMP_NUM_THREADS=1, gloo over the loopback;
- ``train_pytorch, 1 thread`` and ``distributed path, 1 node x 1 process, 1 thread``: the same
  node command with PET_NNODES=1, against train_pytorch; their ratio is the distributed path's
  per-epoch overhead at one node (target: at least 95 %).

The figure of a run is the ``samples_per_second`` its metadata reports: the median over epochs of
the training loop's rows per second, all processes together (rank 0 all-reduces the row count).
The table shows the median and best of the runs and the ratios of the medians.

FAIR SHARES: on Linux with ``kernel.sched_autogroup_enabled=1`` (this machine) the CPU is shared
fairly between sessions, not processes, and torchrun starts every training process in a session
of its own (torch's ``subprocess_handler.py``, ``start_new_session=True``). So ``train_pytorch``
runs in a new session too; otherwise, on a machine loaded by other sessions, it would share one
session's share with whatever else the caller's session runs while each torchrun worker gets a
whole share. Two node processes still hold two sessions' shares against one for the two-thread
process: under load that, not DDP, decides their ratio (say the load average with the figures).
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from kfp_mlops.components.common.tables import write_parquet
from kfp_mlops.components.training.distributed_node import node_arguments
from kfp_mlops.components.training.torch_train import TrainingJob, TrainingSettings
from kfp_mlops.components.training.trainjob import node_command


def digits_tables(folder: Path, rows: int) -> tuple[str, str]:
    """Digits train rows repeated to ``rows`` rows, and the rest as validation, as Parquet."""
    import pyarrow as pa
    from sklearn.datasets import load_digits

    table = pa.Table.from_pandas(load_digits(as_frame=True).frame, preserve_index=False)
    train, validation = table.slice(0, 1400), table.slice(1400)
    repeated = pa.concat_tables([train] * (rows // train.num_rows + 1)).slice(0, rows)
    paths = str(folder / "train.parquet"), str(folder / "validation.parquet")
    write_parquet(repeated, paths[0])
    write_parquet(validation, paths[1])
    return paths


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_train_pytorch(job: TrainingJob, threads: int) -> float:
    """samples/s of train_pytorch in a fresh process with ``threads`` intra-op threads."""
    script = (
        "import json, sys, torch\n"
        f"torch.set_num_threads({threads})\n"
        "from kfp_mlops.components.training.torch_train import TrainingJob, train\n"
        "job = TrainingJob.from_json(sys.argv[1])\n"
        "print(json.dumps(train(job)['samples_per_second']))\n"
    )
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(
        [sys.executable, "-c", script, job.to_json()],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        start_new_session=True,  # as torchrun starts its workers: see FAIR SHARES in the docstring
    )
    return float(done.stdout.strip().splitlines()[-1])


def run_nodes(job: TrainingJob, nodes: int, folder: Path) -> float:
    """samples/s of ``nodes`` node processes (one training process, one thread each)."""
    result = folder / "result.json"
    result.unlink(missing_ok=True)
    command = [sys.executable if part == "python3" else part for part in node_command()]
    command += node_arguments(job, str(result))
    port = _free_port()
    started = []
    for rank in range(nodes):
        environment = {
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "PET_NNODES": str(nodes),
            "PET_NPROC_PER_NODE": "1",
            "PET_NODE_RANK": str(rank),
            "PET_MASTER_ADDR": "127.0.0.1",
            "PET_MASTER_PORT": str(port),
        }
        started.append(
            subprocess.Popen(
                command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
    codes = [process.wait() for process in started]
    if codes != [0] * nodes:
        raise SystemExit(f"node processes failed with {codes}")
    return float(json.loads(result.read_text())["metadata"]["samples_per_second"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rows", type=int, default=20000)
    args = parser.parse_args()
    settings = TrainingSettings(
        architecture="cnn",
        max_epochs=args.epochs,
        patience=args.epochs,
        checkpoint_every=10_000,
        mixed_precision="off",
    )
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as name:
        folder = Path(name)
        train, validation = digits_tables(folder, args.rows)

        def job(tag: str) -> TrainingJob:
            return TrainingJob(
                train, validation, str(folder / tag / "model"), "target", settings,
                str(folder / tag / "checkpoints"),
            )  # fmt: skip

        configurations = {
            "train_pytorch, 1 process x 2 threads": lambda i: run_train_pytorch(job(f"a{i}"), 2),
            "2 nodes x 1 process, 1 thread each": lambda i: run_nodes(job(f"b{i}"), 2, folder),
            "train_pytorch, 1 thread": lambda i: run_train_pytorch(job(f"c{i}"), 1),
            "distributed path, 1 node x 1 process, 1 thread": lambda i: run_nodes(
                job(f"d{i}"), 1, folder
            ),
        }
        for repeat in range(args.repeats):
            for label, run in configurations.items():
                value = run(repeat)
                results.setdefault(label, []).append(value)
                print(f"round {repeat + 1}: {label}: {value:,.0f} samples/s", flush=True)
    median = {label: statistics.median(values) for label, values in results.items()}
    print()
    print("| configuration | median samples/s | best samples/s |")
    print("| --- | ---: | ---: |")
    for label, values in results.items():
        print(f"| {label} | {median[label]:,.0f} | {max(values):,.0f} |")
    labels = list(results)
    print()
    print(f"two nodes / one process with two threads: {median[labels[1]] / median[labels[0]]:.2f}")
    print(
        f"distributed path at one node / train_pytorch: {median[labels[3]] / median[labels[2]]:.2%}"
    )


if __name__ == "__main__":
    main()

"""Start a TrainJob's nodes on this machine, with the environment Kubeflow Trainer gives them.

What each node's container gets comes from kubeflow/trainer at 8c0f5059
(``pkg/runtime/framework/plugins/torch/torch.go``, listed in tests/training/trainer_data/SOURCE.md):
the TrainJob's ``spec.trainer.command`` + ``args`` and env, plus PET_NNODES, PET_NPROC_PER_NODE,
PET_NODE_RANK (the node's index), PET_MASTER_ADDR and PET_MASTER_PORT. On a cluster the master
address is ``<trainjob>-node-0-0.<trainjob>`` and the port 29500; here both nodes are processes on
the loopback, so the address is 127.0.0.1 and the port a free one. ``python3`` in the command is
this interpreter. Killing a node kills its torchrun and every training process under it (torchrun
starts those in sessions of their own, torch/distributed/elastic/multiprocessing/
subprocess_handler/subprocess_handler.py), as losing a pod does.
"""

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import psutil


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def node_environment(trainjob: dict, rank: int, port: int) -> dict[str, str]:
    """The environment of node ``rank`` of ``trainjob``, as the Trainer's torch plugin sets it."""
    trainer = trainjob["spec"]["trainer"]
    environment = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
        **{item["name"]: item["value"] for item in trainer.get("env") or []},
    }
    environment.update(
        PET_NNODES=str(trainer.get("numNodes", 1)),
        PET_NPROC_PER_NODE=str(trainer.get("numProcPerNode", "auto")),
        PET_NODE_RANK=str(rank),
        PET_MASTER_ADDR="127.0.0.1",
        PET_MASTER_PORT=str(port),
    )
    return environment


def node_command(trainjob: dict) -> list[str]:
    """The node container's command line, ``python3`` being this interpreter."""
    trainer = trainjob["spec"]["trainer"]
    command = list(trainer["command"]) + list(trainer.get("args") or [])
    return [sys.executable if part == "python3" else part for part in command]


def start_nodes(
    trainjob: dict, log_folder: Path, port: int | None = None
) -> list[subprocess.Popen]:
    """Starts every node of ``trainjob``; node i's output goes to ``log_folder/node-i.log``."""
    port = port or free_port()
    log_folder.mkdir(parents=True, exist_ok=True)
    nodes = []
    for rank in range(int(trainjob["spec"]["trainer"].get("numNodes", 1))):
        with open(log_folder / f"node-{rank}.log", "ab") as log:
            nodes.append(
                subprocess.Popen(
                    node_command(trainjob),
                    env=node_environment(trainjob, rank, port),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    return nodes


def kill(node: subprocess.Popen) -> None:
    """Kills the node's torchrun and all the processes under it (SIGKILL), as a lost pod."""
    try:
        tree = [psutil.Process(node.pid), *psutil.Process(node.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    for process in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    node.wait()

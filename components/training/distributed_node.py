"""One training process of a multi-node TrainJob: what each node's torchrun starts.

Each node of the TrainJob (see :mod:`.trainjob`) runs ``python3 -m torch.distributed.run -m
kfp_mlops.components.training.distributed_node --job JSON --result URI``. torchrun takes its
options from the ``PET_*`` variables the Trainer's torch plugin sets (PET_NNODES,
PET_NPROC_PER_NODE, PET_NODE_RANK, PET_MASTER_ADDR, PET_MASTER_PORT; torch's
``distributed/argparse_util.py`` reads ``PET_<OPTION>``), rendezvouses the nodes at the master
address (its default static rendezvous), and starts this module with RANK, WORLD_SIZE and
LOCAL_RANK set.

Every process joins the process group (NCCL on GPUs, gloo on CPUs) and runs the same training as
``train_pytorch`` (:func:`.torch_train.train`): the splits and the checkpoints are URIs every node
can reach (``s3://``, ``gs://``, or a path on a shared volume), and the global batch is split
between all processes of all nodes. Checkpoints are written by rank 0 under the job's
``checkpoint_uri``; a restarted TrainJob with the same training finds the newest and resumes.

Rank 0 then writes the Model folder in exactly ``train_pytorch``'s layout: first locally, then
copied to the job's ``model_dir`` URI, and only after that the result file (``{"metadata": ...}``),
so a reader that finds the result finds a complete model. A bad input is written to the result as
``{"error": ...}`` and exits 2.
"""

import argparse
import dataclasses
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.distributed as dist

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.training import shared_storage
from kfp_mlops.components.training.torch_train import Processes, TrainingJob, train


def node_arguments(job: TrainingJob, result_uri: str) -> list[str]:
    """The arguments of this module for ``job`` (the TrainJob's ``spec.trainer.args``)."""
    return ["--job", job.to_json(), "--result", result_uri]


def processes_from_environment() -> Processes:
    """This process's place, from the variables torchrun sets."""
    return Processes(
        rank=int(os.environ.get("RANK", "0")),
        world=int(os.environ.get("WORLD_SIZE", "1")),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
    )


def run(job: TrainingJob, result_uri: str, processes: Processes) -> dict:
    """Trains as one process of the job; rank 0 publishes the Model and the result.

    Returns:
        ``{"metadata": ...}`` (None on ranks other than 0) or ``{"error": ...}``.
    """
    with tempfile.TemporaryDirectory(prefix="kfp-mlops-node-") as folder:
        local_model = str(Path(folder) / "model")
        local_job = dataclasses.replace(job, model_dir=local_model)
        try:
            metadata = train(local_job, processes)
            if processes.main:
                shared_storage.upload_directory(local_model, job.model_dir)
            result: dict = {"metadata": metadata}
        except ComponentInputError as error:
            result = {"error": str(error)}
    if processes.main:
        shared_storage.write_text(result_uri, json.dumps(result))
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m kfp_mlops.components.training.distributed_node --job JSON --result URI``."""
    parser = argparse.ArgumentParser(prog="python -m " + __spec__.name if __spec__ else None)
    parser.add_argument("--job", required=True, help="The TrainingJob as JSON text.")
    parser.add_argument("--result", required=True, help="Where rank 0 writes the result (JSON).")
    args = parser.parse_args(argv)
    job = TrainingJob.from_json(args.job)
    processes = processes_from_environment()
    if processes.world > 1:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    try:
        result = run(job, args.result, processes)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if "error" in result:
        print(f"ComponentInputError: {result['error']}", file=sys.stderr, flush=True)
        raise SystemExit(2)


if __name__ == "__main__":
    main()

"""Train a PyTorch classifier or regressor on the Parquet splits, on CPU or GPUs.

The training writes its Model artifact (:mod:`.torch_export`).

What a training does:

- Device: CUDA when a GPU is visible, else the CPU. With more than one visible GPU the training is
  data-parallel (DDP, NCCL) over all of them: this module relaunches itself under ``torchrun``
  (``python -m torch.distributed.run --standalone``), one process per GPU; the global batch
  (``batch_size``) is split evenly between them. In a Vertex AI CustomJob of several replicas
  (``CLUSTER_SPEC``, see :mod:`.vertex_cluster`) each replica is one node of the same training.
- Mixed precision: ``auto`` trains under bf16 autocast on GPUs that support it, fp16 autocast with
  gradient scaling on older ones, and in float32 on the CPU; ``bf16``, ``fp16`` and ``off`` force
  a choice.
- Seeds: the weights are initialized from ``seed``; every epoch reseeds the shuffle and dropout from
  (seed, epoch, process), so the course of a training does not depend on where it was resumed.
- The task (``TrainingSettings.task``): ``classification`` minimizes the cross-entropy;
  ``regression`` the mean squared error of the target standardized with the train split's mean
  and standard deviation (:class:`.torch_models.RegressorModule`), one network output.
- Early stopping on the validation split's loss (cross-entropy, or MSE): after ``patience`` epochs
  without a new best, training stops and the best epoch's weights are kept.
- Checkpoints every ``checkpoint_every`` epochs (see :mod:`.torch_checkpoints`): by default inside
  the Model artifact's folder (``MODEL/checkpoints``), or under ``checkpoint_uri``. A rerun of the
  same training finds the newest one and resumes after it, logging from which epoch.
- One line per epoch: train loss, validation loss and accuracy (a regressor: RMSE in the target's
  units), training samples per second.

Where checkpoints survive a killed task: KFP gives a retried task the same output URI, so the
default location is found again wherever the artifact path is storage that outlives the pod (Vertex
AI mounts its bucket at ``/gcs``). Kubeflow Pipelines on MinIO or S3 uploads outputs only when a
step succeeds, and ``kfp.local`` gives every run a new output folder: there, pass a
``checkpoint_uri`` (``s3://``, ``gs://``, a mounted volume, a local folder).
"""

import argparse
import dataclasses
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn import functional

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.regression_metrics import TASKS
from kfp_mlops.components.training.torch_checkpoints import CheckpointStore, run_key
from kfp_mlops.components.training.torch_data import (
    TensorSplit,
    TrainingData,
    read_training_data,
)
from kfp_mlops.components.training.torch_export import write_model_directory
from kfp_mlops.components.training.torch_models import (
    ClassifierModule,
    RegressorModule,
    build_classifier,
    build_regressor,
    resolve_hyperparameters,
)
from kfp_mlops.components.training.vertex_cluster import ReplicaPlace, replica_place

PRECISIONS = ("auto", "bf16", "fp16", "off")
WORKER_MODULE = "kfp_mlops.components.training.torch_train"
"""The module torchrun starts in each training process."""
DEFAULT_CHECKPOINT_FOLDER = "checkpoints"
"""The checkpoint folder inside the Model directory when no checkpoint_uri is given."""
_EVAL_BATCH = 4096


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """How to train: the network, the optimizer (AdamW), the epochs, checkpoints and precision.

    Attributes:
        architecture: ``mlp`` or ``cnn`` (see :mod:`.torch_models`).
        hyperparameters: The architecture's hyperparameters; unset ones keep their defaults.
        max_epochs: The most epochs to train.
        batch_size: Rows per optimizer step (over all processes together).
        learning_rate: AdamW's learning rate.
        weight_decay: AdamW's decoupled weight decay.
        patience: Epochs without a better validation loss before training stops.
        checkpoint_every: Write a checkpoint every this many epochs.
        mixed_precision: ``auto``, ``bf16``, ``fp16`` or ``off``.
        seed: Seed of the initial weights, the shuffles and dropout.
        task: ``classification`` (cross-entropy, class probabilities) or ``regression`` (MSE,
            one predicted number per row).
    """

    architecture: str = "mlp"
    hyperparameters: dict[str, object] = dataclasses.field(default_factory=dict)
    max_epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 10
    checkpoint_every: int = 5
    mixed_precision: str = "auto"
    seed: int = 42
    task: str = "classification"

    def check(self) -> None:
        """Raises :class:`ComponentInputError` naming the first setting out of its range."""
        for name in ("max_epochs", "batch_size", "patience", "checkpoint_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ComponentInputError(f"{name} is {value!r}; it must be an integer >= 1")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ComponentInputError(
                f"learning_rate is {self.learning_rate!r}; it must be a positive number"
            )
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ComponentInputError(
                f"weight_decay is {self.weight_decay!r}; it must be a number >= 0"
            )
        if self.mixed_precision not in PRECISIONS:
            raise ComponentInputError(
                f"mixed_precision is {self.mixed_precision!r}; choose one of "
                f"{', '.join(PRECISIONS)}"
            )
        if self.task not in TASKS:
            raise ComponentInputError(f"task is {self.task!r}; choose one of {', '.join(TASKS)}")


@dataclasses.dataclass(frozen=True)
class TrainingJob:
    """One training: its inputs, its output folder, its settings and its checkpoint location."""

    train_path: str
    validation_path: str
    model_dir: str
    target_column: str
    settings: TrainingSettings = dataclasses.field(default_factory=TrainingSettings)
    checkpoint_uri: str | None = None

    @property
    def checkpoint_location(self) -> str:
        """``checkpoint_uri``, or the checkpoint folder inside the Model directory."""
        return self.checkpoint_uri or str(Path(self.model_dir) / DEFAULT_CHECKPOINT_FOLDER)

    def to_json(self) -> str:
        """The job as JSON (for the processes torchrun starts)."""
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "TrainingJob":
        """The job :meth:`to_json` wrote."""
        values = json.loads(text)
        return cls(**{**values, "settings": TrainingSettings(**values["settings"])})


@dataclasses.dataclass(frozen=True)
class Processes:
    """This process's place among the training processes (one, or one per GPU under torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """True for the process that validates, logs, checkpoints and writes the outputs."""
        return self.rank == 0


def _device(processes: Processes) -> torch.device:
    if torch.cuda.is_available():
        device = torch.device("cuda", processes.local_rank)
        torch.cuda.set_device(device)
        return device
    return torch.device("cpu")


def resolve_precision(requested: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``requested`` on ``device``; None means float32 throughout."""
    if requested == "off" or (requested == "auto" and device.type != "cuda"):
        return None
    if requested == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if requested == "bf16" else torch.float16


def _precision_name(dtype: torch.dtype | None) -> str:
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def _epoch_seed(seed: int, epoch: int, stream: int) -> int:
    """A seed per (seed, epoch, stream): stream -1 shuffles, stream r is rank r's dropout."""
    return (seed * 1_000_003 + epoch * 1_009 + stream + 1) % (2**63)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclasses.dataclass
class Progress:
    """Early-stopping state; it is saved in every checkpoint."""

    best_loss: float = math.inf
    best_epoch: int = 0
    epochs_without_improvement: int = 0
    stopped_early: bool = False
    samples_per_second: list[float] = dataclasses.field(default_factory=list)


def _loss(outputs: torch.Tensor, labels: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of logits and class indices, or the MSE of one output and float labels."""
    if labels.is_floating_point():
        return functional.mse_loss(outputs.squeeze(1).float(), labels, reduction=reduction)
    return functional.cross_entropy(outputs, labels, reduction=reduction)


def _labels(classifier: ClassifierModule, labels: torch.Tensor) -> torch.Tensor:
    """The labels the loss compares with: class indices, or a regressor's standardized target."""
    if isinstance(classifier, RegressorModule):
        return classifier.standardize(labels.to(classifier.target_mean.device))
    return labels


def evaluate(
    classifier: ClassifierModule,
    split: TensorSplit,
    device: torch.device,
    precision: torch.dtype | None = None,
) -> tuple[float, float]:
    """Mean loss and accuracy of ``classifier`` on ``split``.

    For a :class:`.RegressorModule`: the mean squared error in standardized units, and the RMSE
    in the target's units.
    """
    classifier.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for begin in range(0, split.rows, _EVAL_BATCH):
            features = split.features[begin : begin + _EVAL_BATCH].to(device)
            labels = _labels(classifier, split.labels[begin : begin + _EVAL_BATCH].to(device))
            with torch.autocast(device.type, dtype=precision, enabled=precision is not None):
                logits = classifier(features)
            logits = logits.float()
            loss += float(_loss(logits, labels, reduction="sum"))
            if not labels.is_floating_point():
                correct += int((logits.argmax(dim=1) == labels).sum())
    if isinstance(classifier, RegressorModule):
        return loss / split.rows, math.sqrt(loss / split.rows) * float(classifier.target_scale)
    return loss / split.rows, correct / split.rows


def _validation_r2(regressor: RegressorModule, split: TensorSplit, device: torch.device) -> float:
    """R² of the regressor's predictions on ``split`` (1 - residual / total sum of squares)."""
    regressor.eval()
    with torch.no_grad():
        predicted = regressor(split.features.to(device)).squeeze(1).double().cpu()
    predicted = predicted * float(regressor.target_scale) + float(regressor.target_mean)
    actual = split.labels.double()
    total = float(((actual - actual.mean()) ** 2).sum())
    residual = float(((actual - predicted) ** 2).sum())
    return 1.0 - residual / total if total > 0 else 0.0


def _settings_key(job: TrainingJob, hyperparameters: dict[str, object], data: TrainingData) -> str:
    settings = dataclasses.asdict(job.settings)
    del settings["checkpoint_every"]
    settings["hyperparameters"] = hyperparameters
    return run_key(
        {
            **settings,
            "target_column": job.target_column,
            "train": data.train.fingerprint,
            "validation": data.validation.fingerprint,
        }
    )


def train(job: TrainingJob, processes: Processes | None = None) -> dict[str, object] | None:
    """Runs one training process; the main one writes the Model directory and returns its metadata.

    ``processes`` is this process's place under torchrun; by default the only process.

    Raises:
        ComponentInputError: A bad setting, hyperparameter or split, or an unusable checkpoint
            location.
    """
    processes = processes or Processes()
    settings = job.settings
    settings.check()
    device = _device(processes)
    precision = resolve_precision(settings.mixed_precision, device)
    data = read_training_data(job.train_path, job.validation_path, job.target_column, settings.task)
    regression = settings.task == "regression"
    n_features = len(data.feature_columns)
    hyperparameters = resolve_hyperparameters(
        settings.architecture, settings.hyperparameters, n_features
    )
    torch.manual_seed(settings.seed)
    if regression:
        classifier: ClassifierModule = build_regressor(
            settings.architecture, hyperparameters, n_features
        )
        classifier.set_target_statistics(data.train.labels)
    else:
        classifier = build_classifier(
            settings.architecture, hyperparameters, n_features, len(data.classes)
        )
    classifier.set_statistics(data.train.features)
    classifier.to(device)
    model: torch.nn.Module = classifier
    if processes.world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            classifier, device_ids=[device.index] if device.type == "cuda" else None
        )
    optimizer = torch.optim.AdamW(
        classifier.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay
    )
    scaler = torch.amp.GradScaler(device.type, enabled=precision == torch.float16)
    store = CheckpointStore(job.checkpoint_location, _settings_key(job, hyperparameters, data))
    progress, best_state, start = Progress(), None, 0
    found = store.load_latest()
    if found is not None:
        checkpoint, saved = found
        classifier.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scaler.load_state_dict(saved["scaler"])
        progress = Progress(**saved["progress"])
        best_state = saved["best_model"]
        start = checkpoint.epoch
        message = (
            f"resuming from checkpoint {store.describe(checkpoint)}: epochs 1-{start} done, "
            f"continuing at epoch {start + 1}"
        )
    else:
        message = f"no checkpoint under {store.describe_folder()}; starting at epoch 1"
    if processes.main:
        print(
            f"training {settings.architecture} on {device} ({processes.world} process(es), "
            f"precision {_precision_name(precision)}): {data.train.rows} train rows, "
            f"{data.validation.rows} validation rows, {n_features} features, "
            f"{'a numeric target' if regression else f'{len(data.classes)} classes'}; {message}",
            flush=True,
        )
    features = data.train.features.to(device)
    labels = _labels(classifier, data.train.labels.to(device))
    score_name = "val_rmse" if regression else "val_accuracy"
    local_batch = max(1, settings.batch_size // processes.world)
    rows_per_process = data.train.rows // processes.world
    epoch = start
    while epoch < settings.max_epochs and not progress.stopped_early:
        epoch += 1
        shuffle = torch.Generator().manual_seed(_epoch_seed(settings.seed, epoch, -1))
        order = torch.randperm(data.train.rows, generator=shuffle)
        order = order[processes.rank : rows_per_process * processes.world : processes.world]
        order = order.to(device)
        torch.manual_seed(_epoch_seed(settings.seed, epoch, processes.rank))
        model.train()
        _synchronize(device)
        started = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        for begin in range(0, len(order), local_batch):
            index = order[begin : begin + local_batch]
            optimizer.zero_grad(set_to_none=True)
            if precision is None:  # float32: no autocast or scaler calls in the hot loop
                loss = _loss(model(features[index]), labels[index])
                loss.backward()
                optimizer.step()
            else:
                with torch.autocast(device.type, dtype=precision):
                    loss = _loss(model(features[index]), labels[index])
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            loss_sum.add_(loss.detach(), alpha=len(index))
        totals = torch.stack([loss_sum.float(), torch.tensor(float(len(order)), device=device)])
        if processes.world > 1:
            dist.all_reduce(totals)
        _synchronize(device)
        elapsed = time.perf_counter() - started
        stop = torch.zeros(1, device=device)
        if processes.main:
            train_loss = float(totals[0] / totals[1])
            samples_per_second = float(totals[1]) / elapsed
            progress.samples_per_second.append(samples_per_second)
            val_loss, val_score = evaluate(classifier, data.validation, device, precision)
            marker = ""
            if val_loss < progress.best_loss:
                progress.best_loss, progress.best_epoch = val_loss, epoch
                progress.epochs_without_improvement = 0
                best_state = {
                    name: value.detach().to("cpu", copy=True)
                    for name, value in classifier.state_dict().items()
                }
                marker = " (best)"
            else:
                progress.epochs_without_improvement += 1
            progress.stopped_early = progress.epochs_without_improvement >= settings.patience
            stop[0] = float(progress.stopped_early)
            print(
                f"epoch {epoch}/{settings.max_epochs}: train_loss {train_loss:.4f}, "
                f"val_loss {val_loss:.4f}, {score_name} {val_score:.4f}, "
                f"{samples_per_second:,.0f} samples/s{marker}",
                flush=True,
            )
            if epoch % settings.checkpoint_every == 0:
                written = store.save(
                    epoch,
                    {
                        "epoch": epoch,
                        "model": classifier.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scaler": scaler.state_dict(),
                        "progress": dataclasses.asdict(progress),
                        "best_model": best_state,
                    },
                )
                print(f"checkpoint {store.describe(written)} written", flush=True)
        if processes.world > 1:
            dist.broadcast(stop, src=0)
        progress.stopped_early = bool(stop[0])
    if not processes.main:
        return None
    if best_state is None:
        raise ComponentInputError(
            f"training diverged: the validation loss was not a finite number in any of the "
            f"{epoch} epoch(s); lower learning_rate ({settings.learning_rate:g})"
        )
    classifier.load_state_dict(best_state)
    val_loss, val_score = evaluate(classifier, data.validation, device)
    if progress.stopped_early:
        print(
            f"stopped early after epoch {epoch}: no better validation loss for "
            f"{settings.patience} epochs; keeping epoch {progress.best_epoch}",
            flush=True,
        )
    metadata: dict[str, object] = {
        "framework": "pytorch",
        "task": settings.task,
        "architecture": settings.architecture,
        "estimator": f"pytorch_{settings.architecture}",
        "hyperparameters": hyperparameters,
        "training": {
            key: value
            for key, value in dataclasses.asdict(settings).items()
            if key not in ("architecture", "hyperparameters", "task")
        },
        "feature_columns": data.feature_columns,
        "excluded_columns": data.excluded_columns,
        "target_column": job.target_column,
        "train_fingerprint": data.train.fingerprint,
        "train_rows": data.train.rows,
        "validation_rows": data.validation.rows,
        "validation_loss": val_loss,
        "best_epoch": progress.best_epoch,
        "epochs_trained": epoch,
        "stopped_early": progress.stopped_early,
        "resumed_from_epoch": start,
        "device": str(device.type),
        "processes": processes.world,
        "precision": _precision_name(precision),
        "samples_per_second": (
            statistics.median(progress.samples_per_second) if progress.samples_per_second else 0.0
        ),
        "checkpoint_location": job.checkpoint_uri or "",
        "torch_version": str(torch.__version__),
        "serving_runtime": "kserve-tritonserver",
        "model_format": "onnx",
    }
    if regression:
        metadata["validation_rmse"] = val_score
        metadata["validation_r2"] = _validation_r2(classifier, data.validation, device)
    else:
        metadata["classes"] = data.classes
        metadata["validation_accuracy"] = val_score
    manifest_keys = [
        "architecture",
        "hyperparameters",
        "feature_columns",
        "target_column",
        "torch_version",
    ]
    if not regression:
        manifest_keys.insert(3, "classes")
    write_model_directory(
        classifier,
        job.model_dir,
        {key: metadata[key] for key in manifest_keys},
        data.validation.features,
    )
    return metadata


def visible_gpus() -> int:
    """The number of CUDA devices this process sees."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def train_pytorch_to_directory(
    train_path: str,
    validation_path: str,
    model_dir: str,
    target_column: str,
    settings: TrainingSettings | None = None,
    checkpoint_uri: str | None = None,
    processes: int | None = None,
) -> dict[str, object] | None:
    """Trains on the splits and writes the Model directory; returns the artifact's metadata.

    Args:
        train_path: Parquet file of the training rows.
        validation_path: Parquet file of the validation rows (early stopping).
        model_dir: The Model directory to write (layout in :mod:`.torch_artifact`).
        target_column: The label column; numeric and boolean columns are the features.
        settings: Architecture, hyperparameters, optimizer, epochs, checkpoints, precision, seed;
            by default :class:`TrainingSettings` ().
        checkpoint_uri: Where checkpoints go; by default ``model_dir/checkpoints``.
        processes: How many training processes; by default one per visible GPU when there are
            several (DDP under torchrun), else one. More than one on a CPU uses gloo (for tests).
            Unset inside a Vertex AI CustomJob of several replicas (``CLUSTER_SPEC``,
            :mod:`.vertex_cluster`), this replica is one node of a training over all of them.

    Returns:
        The Model artifact metadata (see the train_pytorch component); None on a worker replica
        of a multi-replica Vertex AI CustomJob, where the primary writes the Model.

    Raises:
        ComponentInputError: Bad settings or data (also when raised in a torchrun process).
    """
    job = TrainingJob(
        train_path,
        validation_path,
        model_dir,
        target_column,
        settings or TrainingSettings(),
        checkpoint_uri or None,
    )
    place = replica_place() if processes is None else None
    count = processes if processes is not None else max(visible_gpus(), 1)
    if count < 1:
        raise ComponentInputError(f"processes is {count}; it must be at least 1")
    if place is not None:
        return _launch(job, count, place)
    if count == 1:
        return train(job)
    return _launch(job, count)


def _launch(
    job: TrainingJob, count: int, place: ReplicaPlace | None = None
) -> dict[str, object] | None:
    """Runs the training in ``count`` processes under torchrun; returns rank 0's metadata.

    With ``place`` (a replica of a multi-replica Vertex AI CustomJob) these are this node's
    processes of a training on ``place.nodes`` nodes; a worker replica returns None.
    """
    where = ["--standalone"] if place is None else place.torchrun_options()
    with tempfile.TemporaryDirectory(prefix="kfp-mlops-ddp-") as folder:
        job_file, result_file = Path(folder) / "job.json", Path(folder) / "result.json"
        job_file.write_text(job.to_json(), encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            *where,
            f"--nproc-per-node={count}",
            "-m",
            WORKER_MODULE,
            "--job",
            str(job_file),
            "--result",
            str(result_file),
        ]
        print(f"launching {count} training processes (DDP): {' '.join(command)}", flush=True)
        code = subprocess.run(command, check=False).returncode
        result = json.loads(result_file.read_text(encoding="utf-8")) if result_file.exists() else {}
    if "error" in result:
        raise ComponentInputError(result["error"])
    if code == 0 and place is not None and not place.primary:
        return None  # rank 0, on the primary replica, wrote the Model
    if code != 0 or "metadata" not in result:
        raise RuntimeError(f"the DDP training processes (torchrun) failed with exit code {code}")
    return result["metadata"]


def main(argv: Sequence[str] | None = None) -> None:
    """One training process: ``python -m kfp_mlops.components.training.torch_train --job F``.

    Under torchrun (``RANK``/``WORLD_SIZE`` set) it joins the process group (NCCL on GPUs, gloo on
    CPUs). Rank 0 writes ``{"metadata": ...}`` or ``{"error": ...}`` to ``--result``.
    """
    parser = argparse.ArgumentParser(prog="python -m kfp_mlops.components.training.torch_train")
    parser.add_argument("--job", required=True, help="JSON file of the TrainingJob.")
    parser.add_argument("--result", help="Where rank 0 writes the metadata or the error (JSON).")
    args = parser.parse_args(argv)
    job = TrainingJob.from_json(Path(args.job).read_text(encoding="utf-8"))
    processes = Processes(
        rank=int(os.environ.get("RANK", "0")),
        world=int(os.environ.get("WORLD_SIZE", "1")),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
    )
    if processes.world > 1:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    try:
        result: dict[str, object] = {"metadata": train(job, processes)}
    except ComponentInputError as error:
        result = {"error": str(error)}
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if processes.main and args.result:
        Path(args.result).write_text(json.dumps(result), encoding="utf-8")
    if "error" in result:
        print(f"ComponentInputError: {result['error']}", file=sys.stderr, flush=True)
        raise SystemExit(2)


if __name__ == "__main__":
    main()

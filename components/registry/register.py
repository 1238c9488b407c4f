"""Log one training to MLflow (params, metrics, datasets, the model) and register the model.

The model is read from the Model artifact's directory (its one ``model.joblib``, with our restricted
unpickler, ``deployment.model_loading``) and
logged with ``mlflow.sklearn.log_model`` in the skops format. Its pip requirements are pinned
explicitly to the installed versions: letting MLflow infer them costs several seconds per call.
"""

import contextlib
import dataclasses
import os
from collections.abc import Iterator, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import NamedTuple

import mlflow
import mlflow.sklearn
import pandas as pd
import pyarrow.parquet as pq
import skops.io
from mlflow import MlflowClient
from mlflow.data.dataset_source import DatasetSource
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.meta_dataset import MetaDataset
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.base import BaseEstimator

from kfp_mlops.components.common import torch_artifact
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.mlflow_registry import (
    check_alias,
    check_registered_model_name,
    connect,
    model_uri,
    set_alias_with,
    sqlite_database,
)
from kfp_mlops.components.common.model_io import model_file
from kfp_mlops.components.common.model_loading import ALLOWED_PACKAGES, load_model_file
from kfp_mlops.components.common.tables import fingerprint, read_parquet
from kfp_mlops.components.registry.pytorch_model import log_pytorch_model
from kfp_mlops.components.registry.registry_errors import mlflow_failures

REQUIRED_MODEL_METADATA = ("estimator", "hyperparameters", "feature_columns")
REQUIREMENTS = ("scikit-learn", "skops", "numpy", "scipy", "pandas")
"""What loading the logged model needs besides MLflow itself (which MLflow adds)."""
DATASET_PARTS = ("train", "validation", "test")
EXAMPLE_ROWS = 5
# MLflow stores a dataset digest in 36 characters: mlflow 3.17.2
# store/tracking/dbmodels/models.py, SqlDataset.digest = Column(String(36)).
_DIGEST_LENGTH = 32


@dataclasses.dataclass(frozen=True)
class DatasetPart:
    """One split as the registration step receives it.

    Attributes:
        path: The local path of its Parquet file.
        uri: Where the artifact lives (``s3://``, ``gs://``, ``minio://`` or a local path).
        metadata: The Dataset artifact's metadata; its ``fingerprint`` and ``rows`` are used.
    """

    path: str
    uri: str
    metadata: Mapping[str, object]

    def fingerprint(self) -> str:
        """The content fingerprint from the metadata, computed from the file when absent."""
        recorded = self.metadata.get("fingerprint")
        return str(recorded) if recorded else fingerprint(read_parquet(self.path))


class Registration(NamedTuple):
    """What registering a training gives back (the component's outputs, in order)."""

    run_id: str
    model_version: str
    model_uri: str


def load_model_directory(model_dir: str | os.PathLike[str]) -> BaseEstimator:
    """Loads the scikit-learn model of a Model artifact directory (its one ``model.joblib``).

    Raises:
        ComponentInputError: ``model_dir`` does not hold exactly one model file (see
            :func:`.model_io.model_file`), or that file is not a scikit-learn estimator.
    """
    path = model_file(model_dir)
    model = load_model_file(path)  # our restricted unpickler: it runs no code
    if not isinstance(model, BaseEstimator):
        raise ComponentInputError(
            f"{path} holds a {type(model).__qualname__}, not a scikit-learn estimator"
        )
    return model


def skops_trusted_types(model: BaseEstimator) -> list[str]:
    """The types skops must be told to trust to load ``model``; only library types are accepted.

    skops refuses to load types it does not know (``numpy.dtype``, ``sklearn.tree._tree.Tree``...)
    unless listed. The model was already unpickled from the training step's artifact, so its types
    are trusted as long as they come from the packages the model contract allows.

    Raises:
        ComponentInputError: The model references a type from another package.
    """
    untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    foreign = [name for name in untrusted if name.split(".")[0] not in ALLOWED_PACKAGES]
    if foreign:
        raise ComponentInputError(
            f"the model references {', '.join(foreign)}: only classes from "
            f"{', '.join(ALLOWED_PACKAGES)} are allowed in a model"
        )
    return untrusted


def pip_requirements() -> list[str]:
    """The logged model's requirements, pinned to the versions installed here."""
    return [f"{distribution}=={version(distribution)}" for distribution in REQUIREMENTS]


def flatten(mapping: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """Nested dicts flattened to one level, their keys joined with dots.

    ``{"a": {"b": 1}}`` becomes ``{"a.b": 1}``.
    """
    flat: dict[str, object] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _whole(value: object) -> object:
    """KFP hands artifact metadata over as JSON numbers: ``300.0`` was ``300``; give it back."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def training_params(model_metadata: Mapping[str, object]) -> dict[str, object]:
    """The run's params: every hyperparameter (flattened), the estimator and the seed if recorded.

    Whole numbers are logged without a decimal point (KFP turns every metadata number into a float).

    Raises:
        ComponentInputError: The Model artifact's metadata lacks a key of the model contract.
    """
    missing = [key for key in REQUIRED_MODEL_METADATA if key not in model_metadata]
    if missing:
        raise ComponentInputError(f"Model artifact metadata lacks {', '.join(missing)}")
    hyperparameters = model_metadata["hyperparameters"]
    if not isinstance(hyperparameters, Mapping):
        raise ComponentInputError(
            f"Model artifact metadata 'hyperparameters' is a {type(hyperparameters).__name__}, "
            "not a dict"
        )
    params = flatten(hyperparameters)
    params["estimator"] = model_metadata["estimator"]
    if model_metadata.get("seed") is not None:
        params["seed"] = model_metadata["seed"]
    return {name: _whole(value) for name, value in params.items()}


def numeric_metrics(metrics_metadata: Mapping[str, object]) -> dict[str, float]:
    """The numbers of a Metrics artifact's metadata (nested dicts flattened); text is left out."""
    return {
        name: float(value)
        for name, value in flatten(metrics_metadata).items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def input_example(test_path: str, feature_columns: list[str]) -> pd.DataFrame:
    """The first few test rows, feature columns only: the logged model's input example."""
    parquet = pq.ParquetFile(test_path)
    missing = [column for column in feature_columns if column not in parquet.schema_arrow.names]
    if missing:
        raise ComponentInputError(
            f"test dataset {test_path} lacks the model's feature columns: {', '.join(missing)}"
        )
    batch = next(parquet.iter_batches(batch_size=EXAMPLE_ROWS, columns=feature_columns))
    return batch.to_pandas()


def dataset_source(part: DatasetPart) -> DatasetSource:
    """Where MLflow records the dataset came from.

    The artifact's URI where MLflow knows its scheme (s3, gs, a local path...), else its local path
    (``minio://``, KFP's default store).
    """
    try:
        return resolve_dataset_source(part.uri)
    except MlflowException:
        return resolve_dataset_source(part.path)


def _log_datasets(datasets: Mapping[str, DatasetPart], fingerprints: Mapping[str, str]) -> None:
    for name, part in datasets.items():
        digest = fingerprints[name].rsplit(":", 1)[-1][:_DIGEST_LENGTH]
        tags = {"fingerprint": fingerprints[name], "uri": part.uri}
        if part.metadata.get("rows") is not None:
            tags["rows"] = str(_whole(part.metadata["rows"]))
        dataset = MetaDataset(source=dataset_source(part), name=name, digest=digest)
        mlflow.log_input(dataset, context=name, tags=tags)


def _experiment_id(client: MlflowClient, tracking_uri: str, experiment_name: str) -> str:
    """The experiment's id; it is created when missing, its artifacts beside a SQLite database."""
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        database = sqlite_database(tracking_uri)
        location = (Path(database).resolve().parent / "mlartifacts").as_uri() if database else None
        try:
            return client.create_experiment(experiment_name, artifact_location=location)
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            # Another step created it meanwhile (parallel trainings of one pipeline).
            experiment = client.get_experiment_by_name(experiment_name)
    if experiment.lifecycle_stage != "active":
        raise ComponentInputError(
            f"MLflow experiment {experiment_name!r} is deleted; restore it or choose another name"
        )
    return experiment.experiment_id


@contextlib.contextmanager
def _tracking_to(tracking_uri: str) -> Iterator[None]:
    """Points the fluent API (runs, log_model, register_model) at ``tracking_uri`` meanwhile."""
    previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    mlflow.set_tracking_uri(tracking_uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)


def register_training(
    model_dir: str,
    model_metadata: Mapping[str, object],
    metrics_metadata: Mapping[str, object],
    datasets: Mapping[str, DatasetPart],
    tracking_uri: str,
    registered_model_name: str,
    experiment_name: str = "kfp-mlops",
    alias: str = "challenger",
    kfp_run_id: str | None = None,
    kfp_task_name: str | None = None,
) -> Registration:
    """Logs one training as an MLflow run, registers its model as a new version and sets ``alias``.

    The run holds the params (estimator, hyperparameters flattened, seed), the metrics, the three
    datasets as inputs (digest: the first 32 hex digits of their fingerprint; tags: the whole
    fingerprint, URI and rows), tags ``dataset.<part>.fingerprint``, ``data_version`` (when the
    train split carries one) and ``kfp.run_id``/
    ``kfp.task_name``, and the model (skops format, signature and input example from a few test
    rows, the Model artifact's metadata as MLmodel metadata; a PyTorch Model as its ONNX export, see
    pytorch_model.py). The new version carries the same tags.
    A failure after the run started marks it FAILED.

    Args:
        model_dir: The Model artifact's directory, holding ``model.joblib`` (or train_pytorch's
            layout).
        model_metadata: The Model artifact's metadata (estimator, hyperparameters, feature_columns,
            train_fingerprint...).
        metrics_metadata: The Metrics artifact's metadata; its numbers become run metrics.
        datasets: ``train``, ``validation`` and ``test``.
        tracking_uri: ``sqlite:///<path>`` or an MLflow server's ``http(s)://`` address; credentials
            come from ``MLFLOW_TRACKING_USERNAME``/``PASSWORD`` or ``MLFLOW_TRACKING_TOKEN``.
        registered_model_name: The registered model to add a version to (created when missing).
        experiment_name: The MLflow experiment of the run (created when missing).
        alias: Set on the new version, moved from any older one.
        kfp_run_id: The KFP run, recorded as a tag when given.
        kfp_task_name: The KFP task, recorded as a tag when given.

    Raises:
        ComponentInputError: An input breaks a rule above, or the train dataset is not the one the
            model was trained on (fingerprints differ), or the tracking URI cannot be used.
        ExternalSystemError: MLflow does not answer, or fails while setting the alias (the
            message names the version left without it).
    """
    check_registered_model_name(registered_model_name)
    check_alias(alias)
    if not experiment_name.strip():
        raise ComponentInputError("experiment_name is empty")
    if sorted(datasets) != sorted(DATASET_PARTS):
        raise ComponentInputError(
            f"datasets must be {', '.join(DATASET_PARTS)}; got {sorted(datasets)}"
        )
    params = training_params(model_metadata)
    metrics = numeric_metrics(metrics_metadata)
    fingerprints = {name: part.fingerprint() for name, part in datasets.items()}
    trained_on = model_metadata.get("train_fingerprint")
    if trained_on and trained_on != fingerprints["train"]:
        raise ComponentInputError(
            f"the model was trained on data with fingerprint {trained_on} but the train dataset "
            f"given has {fingerprints['train']}: pass the train split the model was fitted on"
        )
    # A PyTorch Model (train_pytorch) is logged as its ONNX export; see pytorch_model.py.
    pytorch = torch_artifact.is_torch_model_dir(model_dir)
    model = None if pytorch else load_model_directory(model_dir)
    trusted_types = None if pytorch else skops_trusted_types(model)
    example = input_example(datasets["test"].path, list(model_metadata["feature_columns"]))

    tags = {f"dataset.{name}.fingerprint": value for name, value in fingerprints.items()}
    if datasets["train"].metadata.get("data_version"):
        # The version of the source data (resolve_data_version), which split passes on.
        tags["data_version"] = str(datasets["train"].metadata["data_version"])
    if model_metadata.get("task"):  # classification or regression, from the training step
        tags["task"] = str(model_metadata["task"])
    if kfp_run_id:
        tags["kfp.run_id"] = kfp_run_id
    if kfp_task_name:
        tags["kfp.task_name"] = kfp_task_name

    client = connect(tracking_uri)
    experiment_id = _experiment_id(client, tracking_uri, experiment_name)
    with _tracking_to(tracking_uri), mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
        _log_datasets(datasets, fingerprints)
        if pytorch:
            logged = log_pytorch_model(model_dir, example, model_metadata)
        else:
            logged = mlflow.sklearn.log_model(
                model,
                name="model",
                serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
                skops_trusted_types=trusted_types,
                pip_requirements=pip_requirements(),
                signature=infer_signature(example, model.predict(example)),
                input_example=example,
                metadata=dict(model_metadata),
            )
        registered = mlflow.register_model(logged.model_uri, registered_model_name, tags=tags)
        model_version = str(registered.version)
        # MLflow failing here leaves a version without the alias; the run is marked FAILED.
        with mlflow_failures(
            f"setting alias {alias!r}",
            f"version {model_version} of {registered_model_name!r} is registered but has no "
            f"{alias!r} alias, and its run is marked FAILED: run the step again",
        ):
            set_alias_with(client, registered_model_name, alias, model_version)
    return Registration(
        run_id=run.info.run_id,
        model_version=model_version,
        model_uri=model_uri(registered_model_name, model_version),
    )

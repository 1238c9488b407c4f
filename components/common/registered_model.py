"""Read a registered scikit-learn model back from MLflow without running code from the registry.

``mlflow.sklearn.load_model`` deserializes whatever a version's ``MLmodel`` names: a ``pickle`` or
``cloudpickle`` file with plain ``pickle.load``, a ``skops`` file with the trusted types listed
in that same ``MLmodel`` (mlflow 3.17.2, ``mlflow/sklearn/__init__.py``,
``_load_model_from_local_file``). Whoever can write a version can thus run code on every reader.
MLflow's own switch, ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION`` (default true,
``mlflow/environment_variables.py``), refuses every format when false, ours included.

So this module never calls MLflow's loaders, and keeps that switch off while it talks to MLflow:
it downloads the version's files and reads them itself:

- ``skops`` (what ``register_model`` writes): loaded with ``skops.io.load`` and trusted types WE
  choose: only the classes under the packages our restricted unpickler allows
  (:data:`.model_loading.ALLOWED_PACKAGES`), never the list stored in the ``MLmodel``;
- ``pickle``/``cloudpickle``: through our restricted unpickler (:mod:`.model_loading`).

Anything else is refused in one line naming the version and what it refers to.
"""

import contextlib
import importlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow.artifacts
import skops.io
import yaml
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.model_loading import ALLOWED_PACKAGES, load_model_file

PICKLE_SWITCH = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"
"""MLflow's environment variable that allows (default) or refuses model deserialization."""
SKOPS = "skops"
PICKLE_FORMATS = ("pickle", "cloudpickle")


@contextlib.contextmanager
def mlflow_deserialization_off() -> Iterator[None]:
    """Sets ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=false`` meanwhile, restoring it after."""
    previous = os.environ.get(PICKLE_SWITCH)
    os.environ[PICKLE_SWITCH] = "false"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(PICKLE_SWITCH, None)
        else:
            os.environ[PICKLE_SWITCH] = previous


def _is_allowed_class(type_name: str) -> bool:
    """Whether ``module.Name`` is a class under an allowed package (imported only if it is)."""
    module, _, name = type_name.rpartition(".")
    if not module or module.split(".", 1)[0] not in ALLOWED_PACKAGES:
        return False
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return False
    return isinstance(found, type)


def trusted_skops_types(untrusted: list[str], source: str) -> list[str]:
    """The types skops lists as unknown, if every one is a class under an allowed package.

    Args:
        untrusted: ``skops.io.get_untrusted_types`` of the file.
        source: The file or model, named in the error.

    Raises:
        ComponentInputError: A type is a function, or lies outside the allowed packages.
    """
    refused = [name for name in untrusted if not _is_allowed_class(name)]
    if refused:
        raise ComponentInputError(
            f"{source} refers to {', '.join(refused)}, which kfp-mlops refuses to load: only "
            f"classes from {', '.join(ALLOWED_PACKAGES)} are allowed, no functions"
        )
    return list(untrusted)


def load_skops_file(path: Path, source: str) -> Any:
    """Loads a skops file, trusting only the classes :func:`trusted_skops_types` admits."""
    try:
        untrusted = skops.io.get_untrusted_types(file=path)
        return skops.io.load(path, trusted=trusted_skops_types(untrusted, source))
    except ComponentInputError:
        raise
    except Exception as error:  # skops raises many types for a damaged file; name it, one line
        reason = (str(error).splitlines() or [type(error).__name__])[0]
        raise ComponentInputError(f"cannot load {source} as a skops model: {reason}") from None


def load_model_folder(folder: Path, source: str) -> Any:
    """Loads the sklearn model of a downloaded MLflow model folder (its ``MLmodel`` and file).

    Raises:
        ComponentInputError: No sklearn flavor, a model file outside the folder, a format other
            than skops/pickle/cloudpickle, or a file our rules refuse.
    """
    try:
        mlmodel = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ComponentInputError(f"{source} has no readable MLmodel file: {error}") from None
    flavor = (mlmodel.get("flavors") or {}).get("sklearn")
    if not isinstance(flavor, dict) or not isinstance(flavor.get("pickled_model"), str):
        raise ComponentInputError(
            f"{source} is not a scikit-learn model (its MLmodel has no sklearn flavor)"
        )
    path = (folder / flavor["pickled_model"]).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        raise ComponentInputError(
            f"{source} names model file {flavor['pickled_model']!r}, which is not a file inside "
            "the model"
        )
    serialization = flavor.get("serialization_format", "pickle")
    if serialization == SKOPS:
        return load_skops_file(path, source)
    if serialization in PICKLE_FORMATS:
        try:
            return load_model_file(path)
        except ComponentInputError as error:  # name the model, not the temporary download
            raise ComponentInputError(
                str(error).replace(str(path), f"{source} ({path.name})")
            ) from None
    raise ComponentInputError(
        f"{source} is serialized as {serialization!r}; kfp-mlops loads only skops, pickle or "
        "cloudpickle"
    )


def _download(tracking_uri: str, model_uri: str, folder: str) -> str:
    """Downloads the files of an MLflow model URI into ``folder``; returns the local model folder.

    The URI is ``models:/NAME/VERSION``, ``models:/NAME@ALIAS`` or ``runs:/RUN/PATH``.
    """
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    if model_uri.startswith("runs:/"):
        run_id, _, path = model_uri[len("runs:/") :].partition("/")
        return mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=path, dst_path=folder, tracking_uri=tracking_uri
        )
    reference = model_uri[len("models:/") :].strip("/")
    if "@" in reference:
        name, _, alias = reference.partition("@")
        version = client.get_model_version_by_alias(name, alias).version
    else:
        name, _, version = reference.partition("/")
    source = client.get_model_version_download_uri(name, str(version))
    return mlflow.artifacts.download_artifacts(
        artifact_uri=source, dst_path=folder, tracking_uri=tracking_uri, registry_uri=tracking_uri
    )


def load_registered_model(model_uri: str, tracking_uri: str) -> Any:
    """Downloads an MLflow model and loads it with :func:`load_model_folder`.

    The URI is ``models:/NAME/VERSION``, ``models:/NAME@ALIAS`` or ``runs:/``.

    Raises:
        ComponentInputError: MLflow cannot find or download it, or our rules refuse it.
    """
    with tempfile.TemporaryDirectory() as work, mlflow_deserialization_off():
        try:
            local = _download(tracking_uri, model_uri, work)
        except (MlflowException, OSError) as error:
            reason = (str(error).splitlines() or [type(error).__name__])[0]
            raise ComponentInputError(f"cannot load {model_uri}: {reason}") from None
        return load_model_folder(Path(local), model_uri)

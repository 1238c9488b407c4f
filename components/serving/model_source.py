"""Turn what a user names on ``kfp-mlops serve`` into a model directory the model server loads.

Three forms:

- a directory: a Model artifact's directory (one ``model.joblib``), served as it is;
- an MLflow model URI, ``models:/NAME/VERSION``, ``models:/NAME@ALIAS`` or ``runs:/RUN/PATH``;
- a registered model and alias, ``NAME@ALIAS`` (short for ``models:/NAME@ALIAS``).

An MLflow model (logged by register_model in the skops format) is downloaded and loaded without
MLflow's loaders, which would unpickle whatever the version's ``MLmodel`` names
(:mod:`kfp_mlops.components.common.registered_model`: skops with our own trusted types, or our
restricted unpickler), then written as the one ``model.joblib`` of a new directory, which the
model server loads with our restricted unpickler.
"""

import os
from pathlib import Path

import joblib

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.model_io import MODEL_FILE

MLFLOW_SCHEMES = ("models:/", "runs:/")


def mlflow_uri(model: str) -> str | None:
    """The MLflow model URI ``model`` names, or None when it names no MLflow model."""
    if model.startswith(MLFLOW_SCHEMES):
        return model
    if "@" in model and "://" not in model and "/" not in model:
        name, _, alias = model.partition("@")
        if name and alias:
            return f"models:/{name}@{alias}"
    return None


def model_directory(model: str, tracking_uri: str | None, work_dir: Path) -> Path:
    """A directory holding the model ``model`` names, ready for the model server.

    Args:
        model: A directory, an MLflow model URI or ``NAME@ALIAS``.
        tracking_uri: The MLflow store for MLflow models; ``MLFLOW_TRACKING_URI`` when None.
        work_dir: An empty directory to write an MLflow model into.

    Raises:
        ComponentInputError: ``model`` is none of the three forms, MLflow cannot find it, or it
            is not in a format we load safely (see ``registry.registered_model``).
    """
    if Path(model).is_dir():
        return Path(model)
    uri = mlflow_uri(model)
    if uri is None:
        raise ComponentInputError(
            f"MODEL {model!r} is neither a directory nor an MLflow model (models:/NAME/VERSION, "
            "models:/NAME@ALIAS, runs:/RUN/PATH or NAME@ALIAS)"
        )
    store = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not store:
        raise ComponentInputError(
            f"{uri} is an MLflow model: give --tracking-uri or set MLFLOW_TRACKING_URI"
        )
    from kfp_mlops.components.common.mlflow_registry import connect
    from kfp_mlops.components.common.registered_model import load_registered_model

    connect(store)  # names an unusable store in one line
    loaded = load_registered_model(uri, store)
    folder = work_dir / "model"
    folder.mkdir(parents=True)
    joblib.dump(loaded, folder / MODEL_FILE)
    return folder

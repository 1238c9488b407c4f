"""Turn what a user names on ``kfp-mlops serve`` into a model directory the model server loads.

Three forms:

- a directory: a Model artifact's directory (one ``model.joblib``), served as it is;
- an MLflow model URI, ``models:/NAME/VERSION``, ``models:/NAME@ALIAS`` or ``runs:/RUN/PATH``;
- a registered model and alias, ``NAME@ALIAS`` (short for ``models:/NAME@ALIAS``).

An MLflow model (logged by register_model in the skops format) is loaded with
``mlflow.sklearn.load_model`` and written as the one ``model.joblib`` of a new directory, which the
model server then loads with the KServe sklearn runtime's restricted unpickler, as a cluster would.
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
        ComponentInputError: ``model`` is none of the three forms, or MLflow cannot load it.
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
    import mlflow
    import mlflow.sklearn
    from mlflow.exceptions import MlflowException

    from kfp_mlops.components.common.mlflow_registry import connect

    connect(store)  # names an unusable store in one line
    previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    mlflow.set_tracking_uri(store)
    try:
        loaded = mlflow.sklearn.load_model(uri)
    except (MlflowException, OSError) as error:
        raise ComponentInputError(
            f"cannot load {uri} from {store}: {str(error).splitlines()[0]}"
        ) from None
    finally:
        mlflow.set_tracking_uri(previous)
    folder = work_dir / "model"
    folder.mkdir(parents=True)
    joblib.dump(loaded, folder / MODEL_FILE)
    return folder

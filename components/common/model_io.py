"""The Model artifact's layout: a directory holding exactly one model file; its loaders.

The KServe sklearn runtime loads the one ``.joblib``/``.pkl``/``.pickle`` file it finds in the model
directory and refuses a directory with several, so that is the layout every stage keeps to;
:func:`model_file` is the one place that rule is written. Source: kserve@aaac4e2 (python/VERSION
0.20.0) ``python/sklearnserver/sklearnserver/model.py``, ``SKLearnModel.load``
(``MODEL_EXTENSIONS``; several files: ``RuntimeError``; none: ``ModelMissingError``).
"""

import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kfp_mlops.components.common import torch_artifact
from kfp_mlops.components.common.errors import ComponentInputError

if TYPE_CHECKING:  # scikit-learn is imported by unpickling a model, not to find its file
    from sklearn.pipeline import Pipeline

MODEL_FILE = "model.joblib"
"""The file name training writes inside the Model artifact's directory."""

MODEL_SUFFIXES = (".joblib", ".pkl", ".pickle")
"""The suffixes the KServe sklearn runtime takes for a model file (its ``MODEL_EXTENSIONS``)."""


def model_file(model_dir: str | os.PathLike[str]) -> Path:
    """The one model file in ``model_dir``.

    Raises:
        ComponentInputError: The directory is missing, is a file, or holds no model file or several.
    """
    folder = Path(model_dir)
    if not folder.exists():
        raise ComponentInputError(f"model directory not found: {folder}")
    if not folder.is_dir():
        raise ComponentInputError(
            f"model path {folder} is a file; a Model artifact is a directory holding one "
            f"{MODEL_FILE}"
        )
    found = sorted(
        path for path in folder.iterdir() if path.is_file() and path.suffix in MODEL_SUFFIXES
    )
    if not found:
        raise ComponentInputError(
            f"model directory {folder} holds no model file ({', '.join(MODEL_SUFFIXES)})"
        )
    if len(found) > 1:
        raise ComponentInputError(
            f"model directory {folder} holds {len(found)} model files "
            f"({', '.join(path.name for path in found)}); the KServe sklearn runtime loads "
            "exactly one"
        )
    return found[0]


def load_sklearn_model(model_dir: str | os.PathLike[str]) -> "Pipeline":
    """Loads the model in ``model_dir``; it must have ``predict`` and ``predict_proba``.

    The file is unpickled by our restricted unpickler (``deployment.model_loading``).

    Raises:
        ComponentInputError: See :func:`model_file`; or the file is not a readable pickle, names
            a global our unpickler refuses, or does not hold a classifier.
    """
    # Imported here: model_loading imports this package's torch_artifact.
    from kfp_mlops.components.common.model_loading import load_model_file

    path = model_file(model_dir)
    try:
        # Our restricted unpickler: a Model directory is input, and must not run code on load.
        model = load_model_file(path)
    # The exceptions the pickle module documents for a damaged or foreign file.
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError) as error:
        raise ComponentInputError(f"cannot load {path} as a joblib model: {error}") from error
    if not (hasattr(model, "predict") and hasattr(model, "predict_proba")):
        raise ComponentInputError(
            f"{path} holds a {type(model).__name__}, not a classifier with predict and "
            "predict_proba"
        )
    return model


def load_classifier(model_dir: str | os.PathLike[str]) -> Any:
    """The classifier in a Model directory, whichever framework trained it.

    A PyTorch Model (``train_pytorch``; its manifest names ``framework: pytorch``) is loaded as its
    ONNX export behind the same ``predict``, ``predict_proba``, ``classes_`` and
    ``feature_names_in_`` as an sklearn Pipeline; any other directory as the sklearn model.

    Raises:
        ComponentInputError: See :func:`load_sklearn_model` and
            :func:`.torch_artifact.load_onnx_classifier`.
    """
    if torch_artifact.is_torch_model_dir(model_dir):
        return torch_artifact.load_onnx_classifier(model_dir)
    return load_sklearn_model(model_dir)

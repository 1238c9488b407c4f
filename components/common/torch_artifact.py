"""The PyTorch Model artifact: its layout, its manifest, and predictors that read its ONNX file.

The directory is a model repository for KServe's Triton runtime (``kserve-tritonserver``, model
formats ``onnx`` and ``pytorch``; protocols v2 and grpc-v2: kserve@aaac4e2
``config/runtimes/kserve-tritonserver.yaml``), plus the state dict and a manifest::

    MODEL_DIR/
      kfp_mlops_model.json           manifest: framework, architecture, hyperparameters, feature
                                     columns, classes, input and output tensors, files
      state_dict.pt                  ClassifierModule state dict (weights and the train-split fill,
                                     mean and scale); load with torch.load(..., weights_only=True)
      model/config.pbtxt             Triton model "model": the ONNX export (onnxruntime_onnx)
      model/1/model.onnx
      model_torchscript/config.pbtxt Triton model "model_torchscript": the TorchScript export
      model_torchscript/1/model.pt   (pytorch_libtorch)

Triton loads every sub-folder of the repository as a model and ignores plain files, so the
manifest and the state dict do not disturb it. An InferenceService serves it with
``modelFormat: {name: onnx}`` and ``storageUri`` set to the artifact's URI. Both exports take raw
feature rows, FP32 ``[batch, n_features]`` in ``feature_columns`` order (NaN for a missing value),
and answer class probabilities, FP32 ``[batch, n_classes]`` in ``classes`` order (a classifier),
or the predicted numbers, FP32 ``[batch, 1]`` named ``predictions`` (a regressor: the manifest's
``task`` is ``regression`` and its format :data:`REGRESSOR_FORMAT`, so that a reader that knows
only classifiers refuses it instead of taking the numbers for probabilities).

This module needs numpy and onnxruntime, not torch, so evaluation and serve-check run in the CPU
image.
"""

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from kfp_mlops.components.common.errors import ComponentInputError

MANIFEST_FILE = "kfp_mlops_model.json"
STATE_DICT_FILE = "state_dict.pt"
ONNX_MODEL = "model"
TORCHSCRIPT_MODEL = "model_torchscript"
ONNX_FILE = f"{ONNX_MODEL}/1/model.onnx"
TORCHSCRIPT_FILE = f"{TORCHSCRIPT_MODEL}/1/model.pt"
ONNX_INPUT, ONNX_OUTPUT = "features", "probabilities"
ONNX_REGRESSION_OUTPUT = "predictions"
"""A regressor's output: one FP32 number per row, ``[batch, 1]``."""
TORCHSCRIPT_INPUT, TORCHSCRIPT_OUTPUT = "INPUT__0", "OUTPUT__0"
"""Triton's PyTorch backend names tensors ``<name>__<index>``."""
FORMAT = "kfp-mlops/pytorch-classifier/v1"
REGRESSOR_FORMAT = "kfp-mlops/pytorch-regressor/v1"
FORMATS = {"classification": FORMAT, "regression": REGRESSOR_FORMAT}
"""The manifest's format for each task."""


def output_name(task: str) -> str:
    """The ONNX and Triton output of a ``task`` model: probabilities or predictions."""
    return ONNX_REGRESSION_OUTPUT if task == "regression" else ONNX_OUTPUT


def is_torch_model_dir(model_dir: str | os.PathLike[str]) -> bool:
    """True when ``model_dir`` holds a PyTorch Model artifact (its manifest)."""
    return (Path(model_dir) / MANIFEST_FILE).is_file()


def torch_model_dir_of(model_file: str | os.PathLike[str]) -> Path | None:
    """The PyTorch Model directory whose ONNX export is ``model_file``, or None if it is not one."""
    path = Path(model_file)
    if len(path.parents) < 3:
        return None
    folder = path.parents[2]
    return folder if is_torch_model_dir(folder) and folder / ONNX_FILE == path else None


def triton_config(
    name: str,
    platform: str,
    input_name: str,
    output_name: str,
    n_features: int,
    n_classes: int,
) -> str:
    """A Triton ``config.pbtxt`` for one model: dynamic batch, FP32 in and out, no batcher."""
    return (
        f'name: "{name}"\n'
        f'platform: "{platform}"\n'
        "max_batch_size: 0\n"
        "input [\n"
        f'  {{ name: "{input_name}" data_type: TYPE_FP32 dims: [ -1, {n_features} ] }}\n'
        "]\n"
        "output [\n"
        f'  {{ name: "{output_name}" data_type: TYPE_FP32 dims: [ -1, {n_classes} ] }}\n'
        "]\n"
    )


def read_manifest(model_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a PyTorch Model directory.

    Raises:
        ComponentInputError: No manifest, unreadable JSON, or an unknown format.
    """
    path = Path(model_dir) / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ComponentInputError(
            f"{model_dir} is not a PyTorch Model: no {MANIFEST_FILE}"
        ) from error
    except json.JSONDecodeError as error:
        raise ComponentInputError(f"{path} is not valid JSON: {error}") from error
    if manifest.get("format") not in FORMATS.values():
        raise ComponentInputError(
            f"{path} has format {manifest.get('format')!r}; this version reads "
            f"{' or '.join(repr(name) for name in FORMATS.values())}"
        )
    return manifest


def manifest_task(manifest: Mapping[str, Any]) -> str:
    """``classification`` or ``regression``, from the manifest's format."""
    return "regression" if manifest.get("format") == REGRESSOR_FORMAT else "classification"


class _TorchOnnxSession:
    """A PyTorch Model artifact's ONNX export in an ONNX Runtime session on the CPU.

    It takes a pandas DataFrame holding the feature columns (chosen by name) or a 2-D array-like
    with them in ``feature_names_in_`` order; ``None`` or NaN is a missing value.

    Attributes:
        feature_names_in_: The feature columns, in input order.
        path: The ONNX file.
    """

    output = ONNX_OUTPUT

    def __init__(self, path: Path, feature_columns: list[str]) -> None:
        import onnxruntime
        from onnxruntime.capi import onnxruntime_pybind11_state as errors

        self.path = path
        self.feature_names_in_ = np.asarray(feature_columns, dtype=object)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        try:
            self._session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except (
            errors.Fail,
            errors.InvalidProtobuf,
            errors.NoSuchFile,
            errors.InvalidGraph,
        ) as error:
            raise ComponentInputError(f"cannot load ONNX model {path}: {error}") from error

    def _rows(self, instances: object) -> np.ndarray:
        columns = getattr(instances, "columns", None)
        if columns is not None:
            missing = [name for name in self.feature_names_in_ if name not in columns]
            if missing:
                raise ComponentInputError(
                    f"the input lacks feature column(s) the model uses: {', '.join(missing)}"
                )
            instances = instances[list(self.feature_names_in_)].to_numpy()
        try:
            rows = np.asarray(instances, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise ComponentInputError(
                f"the input is not numeric rows of {len(self.feature_names_in_)} features: {error}"
            ) from error
        if rows.ndim != 2 or rows.shape[1] != len(self.feature_names_in_):
            raise ComponentInputError(
                f"the input has shape {list(rows.shape)}; the model takes [rows, "
                f"{len(self.feature_names_in_)}] in the order {list(self.feature_names_in_)[:5]}..."
            )
        return rows

    def raw_output(self, instances: object) -> np.ndarray:
        """The graph's one output for the rows, ``[rows, outputs]`` float32."""
        return self._session.run([self.output], {ONNX_INPUT: self._rows(instances)})[0]


class TorchOnnxClassifier(_TorchOnnxSession):
    """A PyTorch Model artifact's ONNX export behind the predict/predict_proba of a classifier.

    Attributes:
        classes_: The classes, in the order of the probability columns.
        feature_names_in_: The feature columns, in input order.
        path: The ONNX file.
    """

    def __init__(self, path: Path, feature_columns: list[str], classes: list[object]) -> None:
        super().__init__(path, feature_columns)
        self.classes_ = np.asarray(classes)

    def predict_proba(self, instances: object) -> np.ndarray:
        """Class probabilities, one column per class in ``classes_`` order."""
        return self.raw_output(instances)

    def predict(self, instances: object) -> np.ndarray:
        """The most probable class of each row."""
        return self.classes_[np.argmax(self.predict_proba(instances), axis=1)]


class TorchOnnxRegressor(_TorchOnnxSession):
    """A PyTorch regressor's ONNX export behind the ``predict`` of an sklearn regressor.

    It has no ``predict_proba``: evaluation and the model server tell it from a classifier so.

    Attributes:
        feature_names_in_: The feature columns, in input order.
        path: The ONNX file.
    """

    output = ONNX_REGRESSION_OUTPUT

    def predict(self, instances: object) -> np.ndarray:
        """The predicted number of each row, float32 ``[rows]``."""
        return self.raw_output(instances).reshape(-1)


def _onnx_path(model_dir: str | os.PathLike[str]) -> Path:
    path = Path(model_dir) / ONNX_FILE
    if not path.is_file():
        raise ComponentInputError(f"PyTorch Model {model_dir} lacks its ONNX export {ONNX_FILE}")
    return path


def load_onnx_model(
    model_dir: str | os.PathLike[str],
) -> TorchOnnxClassifier | TorchOnnxRegressor:
    """The ONNX export of the PyTorch Model in ``model_dir``, as its manifest's task reads it.

    Raises:
        ComponentInputError: See :func:`read_manifest`; or the ONNX file is missing or unreadable.
    """
    manifest = read_manifest(model_dir)
    columns = list(manifest["feature_columns"])
    if manifest_task(manifest) == "regression":
        return TorchOnnxRegressor(_onnx_path(model_dir), columns)
    return TorchOnnxClassifier(_onnx_path(model_dir), columns, list(manifest["classes"]))


def load_onnx_classifier(model_dir: str | os.PathLike[str]) -> TorchOnnxClassifier:
    """The ONNX export of the PyTorch Model in ``model_dir`` as a classifier.

    Raises:
        ComponentInputError: See :func:`load_onnx_model`; or the Model is a regressor.
    """
    model = load_onnx_model(model_dir)
    if not isinstance(model, TorchOnnxClassifier):
        raise ComponentInputError(
            f"PyTorch Model {model_dir} is a regressor (task regression), not a classifier; "
            "evaluate it with evaluate_regressor"
        )
    return model

"""Run a Model artifact's ONNX export with ONNX Runtime, and build the V2 requests Triton takes.

Two layouts, one per training component:

- ``train_sklearn`` writes the export as a Triton model repository in the Model's ``onnx/`` folder
  and records its layout in the Model's ``onnx`` metadata (see
  ``kfp_mlops.components.training.onnx_export``): one graph input per feature column,
  ``[rows, 1]``, FP32 for numbers (NaN when missing) and BYTES for text (the empty string when
  missing); outputs ``label`` and ``probabilities`` (:class:`OnnxClassifier`, :func:`v2_request`);
  ``train_sklearn_regressor`` the same inputs and one output, ``predictions``, FP32 ``[rows, 1]``
  (:class:`OnnxRegressor`).
- ``train_pytorch`` writes the Model directory itself as a Triton model repository (see
  ``kfp_mlops.components.common.torch_artifact``): the model ``model`` takes one FP32 input
  ``features``, ``[rows, n_features]`` in ``feature_columns`` order, and answers one FP32 output
  ``probabilities``, ``[rows, n_classes]`` in ``classes`` order; the predicted class is the
  column of the highest probability (:class:`TorchOnnxModel`); a regressor's (manifest task
  ``regression``) answers ``predictions``, FP32 ``[rows, 1]`` (:class:`TorchOnnxRegressorModel`).
"""

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import onnxruntime
import pandas as pd

from kfp_mlops.components.common import torch_artifact
from kfp_mlops.components.common.errors import ComponentInputError

PREDICTIONS_OUTPUT = torch_artifact.ONNX_REGRESSION_OUTPUT
"""A regressor's output in both layouts: FP32 ``[rows, 1]``, one number per row."""


@dataclasses.dataclass(frozen=True)
class OnnxLayout:
    """Where the export is and what its inputs are, read from the Model's ``onnx`` metadata."""

    path: str
    repository: str
    model_name: str
    columns: list[str]
    input_names: list[str]
    datatypes: list[str]

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, object]) -> "OnnxLayout":
        """Reads the Model artifact's metadata.

        Raises:
            ComponentInputError: The Model has no ONNX export (the message gives the reason
                training recorded), or its metadata is not the layout training writes.
        """
        onnx = metadata.get("onnx")
        if not isinstance(onnx, Mapping):
            raise ComponentInputError(
                "the Model has no ONNX export (no 'onnx' metadata): train it with train_sklearn "
                "of this version, which exports model.onnx beside model.joblib"
            )
        if not onnx.get("exported"):
            raise ComponentInputError(
                f"the Model has no ONNX export: {onnx.get('reason', 'training recorded no reason')}"
            )
        inputs = onnx["inputs"]
        return cls(
            path=str(onnx["path"]),
            repository=str(onnx["repository"]),
            model_name=str(onnx["model_name"]),
            columns=[str(item["column"]) for item in inputs],
            input_names=[str(item["name"]) for item in inputs],
            datatypes=[str(item["datatype"]) for item in inputs],
        )

    def tensors(self, frame: pd.DataFrame) -> list[tuple[str, str, np.ndarray]]:
        """Each input's name, V2 datatype and ``[rows, 1]`` values for the rows of ``frame``.

        Raises:
            ComponentInputError: ``frame`` lacks a feature column, or a numeric column holds
                text.
        """
        missing = [column for column in self.columns if column not in frame.columns]
        if missing:
            raise ComponentInputError(
                f"the rows lack the ONNX model's input column(s): {', '.join(missing)}"
            )
        tensors = []
        for column, name, datatype in zip(
            self.columns, self.input_names, self.datatypes, strict=True
        ):
            values = frame[column]
            if datatype == "BYTES":
                text = values.astype(object).where(values.notna(), "").astype(str)
                array = text.to_numpy(dtype=object).reshape(-1, 1)
            else:
                try:
                    array = values.to_numpy(dtype=np.float32, na_value=np.nan).reshape(-1, 1)
                except (TypeError, ValueError) as error:
                    raise ComponentInputError(
                        f"column {column!r} feeds the ONNX model's FP32 input {name!r} but holds "
                        f"values that are not numbers: {error}"
                    ) from error
            tensors.append((name, datatype, array))
        return tensors


class OnnxClassifier:
    """The ONNX export of a Model directory, in an ONNX Runtime session on the CPU."""

    def __init__(self, model_dir: str | Path, metadata: Mapping[str, object]) -> None:
        self.layout = OnnxLayout.from_metadata(metadata)
        self.path = Path(model_dir) / self.layout.path
        if not self.path.is_file():
            raise ComponentInputError(
                f"the Model's metadata names the ONNX export {self.layout.path} but "
                f"{self.path} does not exist"
            )
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: no warnings about unused initializers
        self.session = onnxruntime.InferenceSession(
            str(self.path), options, providers=["CPUExecutionProvider"]
        )

    def run(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The predicted labels and the class probabilities of the rows of ``frame``."""
        feeds = {name: array for name, _, array in self.layout.tensors(frame)}
        labels, probabilities = self.session.run(["label", "probabilities"], feeds)
        return np.asarray(labels).reshape(-1), np.asarray(probabilities)


class OnnxRegressor(OnnxClassifier):
    """A regressor's ONNX export (``train_sklearn_regressor``): one output, ``predictions``."""

    output_name = PREDICTIONS_OUTPUT

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """The predicted number of each row of ``frame``, float32 ``[rows]``."""
        feeds = {name: array for name, _, array in self.layout.tensors(frame)}
        (predictions,) = self.session.run([self.output_name], feeds)
        return np.asarray(predictions).reshape(-1)


def predictions_output(answer: Mapping) -> np.ndarray:
    """The ``predictions`` tensor of a V2 answer (either regressor layout), float64 ``[rows]``.

    Raises:
        KeyError: The answer has no such output.
        ValueError: Its data are not numbers.
    """
    for output in answer["outputs"]:
        if output["name"] == PREDICTIONS_OUTPUT:
            return np.asarray(output["data"], dtype=np.float64).reshape(-1)
    raise KeyError(PREDICTIONS_OUTPUT)


def v2_request(
    layout: OnnxLayout, frame: pd.DataFrame, request_id: str, output: str = "label"
) -> dict[str, object]:
    """A V2 (Open Inference Protocol) request for the Triton-served export: one tensor per input.

    It asks for ``output``: ``label`` of a classifier, ``predictions`` of a regressor.

    Raises:
        ComponentInputError: A numeric value is missing: JSON cannot carry NaN, so such rows
            cannot be sent to Triton as JSON.
    """
    inputs = []
    for name, datatype, array in layout.tensors(frame):
        if datatype == "FP32" and np.isnan(array).any():
            raise ComponentInputError(
                f"ONNX input {name!r} has a missing value, which a JSON V2 request cannot carry"
            )
        data = array.reshape(-1).tolist()
        inputs.append(
            {"name": name, "shape": list(array.shape), "datatype": datatype, "data": data}
        )
    return {"id": request_id, "inputs": inputs, "outputs": [{"name": output}]}


class _TorchOnnxRequests:
    """The input tensor and the V2 request of a PyTorch Model's export served as ``model``.

    Attributes:
        feature_columns: The input's columns, in order (from the Model's manifest).
        input_name: The graph's input, ``features``.
        output_name: The graph's output the request asks for.
    """

    input_name = torch_artifact.ONNX_INPUT
    output_name: str
    feature_columns: list[str]

    def features(self, frame: pd.DataFrame) -> np.ndarray:
        """The input tensor of the rows of ``frame``.

        FP32 ``[rows, n_features]``, NaN for a missing value.

        Raises:
            ComponentInputError: ``frame`` lacks a feature column, or one holds text.
        """
        missing = [name for name in self.feature_columns if name not in frame.columns]
        if missing:
            raise ComponentInputError(
                f"the rows lack the PyTorch model's feature column(s): {', '.join(missing)}"
            )
        try:
            return frame[self.feature_columns].to_numpy(dtype=np.float32, na_value=np.nan)
        except (TypeError, ValueError) as error:
            raise ComponentInputError(
                f"the rows feed the PyTorch model's FP32 input {self.input_name!r} but hold values "
                f"that are not numbers: {error}"
            ) from error

    def v2_request(self, frame: pd.DataFrame, request_id: str) -> dict[str, object]:
        """A V2 request for ``model`` in Triton.

        The rows as one FP32 tensor ``features``, asking for :attr:`output_name`.

        Raises:
            ComponentInputError: A value is missing (JSON cannot carry NaN), or see
                :meth:`features`.
        """
        features = self.features(frame)
        if np.isnan(features).any():
            raise ComponentInputError(
                f"input {self.input_name!r} has a missing value, which a JSON V2 request cannot "
                "carry"
            )
        return {
            "id": request_id,
            "inputs": [
                {
                    "name": self.input_name,
                    "shape": list(features.shape),
                    "datatype": "FP32",
                    "data": features.reshape(-1).tolist(),
                }
            ],
            "outputs": [{"name": self.output_name}],
        }


class TorchOnnxModel(_TorchOnnxRequests):
    """A PyTorch classifier's ONNX export (``model/1/model.onnx``) in ONNX Runtime on the CPU.

    Also the V2 request and answer of the same model served by Triton as ``model``.

    Attributes:
        classes: The classes, in the order of the probability columns.
        output_name: The graph's output, ``probabilities``.
    """

    output_name = torch_artifact.ONNX_OUTPUT

    def __init__(self, model_dir: str | Path) -> None:
        """Loads the export named by the manifest of the PyTorch Model in ``model_dir``.

        Raises:
            ComponentInputError: ``model_dir`` is not a PyTorch Model directory (no or another
                manifest), its Model is a regressor, or its ONNX file is missing or unreadable.
        """
        self._classifier = torch_artifact.load_onnx_classifier(model_dir)
        self.path = self._classifier.path
        self.feature_columns = [str(name) for name in self._classifier.feature_names_in_]
        self.classes = self._classifier.classes_

    def run(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The predicted classes and the class probabilities of the rows of ``frame``."""
        probabilities = np.asarray(self._classifier.predict_proba(self.features(frame)))
        return self.labels(probabilities), probabilities

    def labels(self, probabilities: np.ndarray) -> np.ndarray:
        """The class of the highest probability of each row."""
        return self.classes[np.argmax(probabilities, axis=1)]

    def probabilities_output(self, answer: Mapping) -> np.ndarray:
        """The ``probabilities`` tensor of a V2 answer, ``[rows, n_classes]``.

        Raises:
            KeyError: The answer has no such output.
            ValueError: Its data do not fill ``[rows, n_classes]``.
        """
        for output in answer["outputs"]:
            if output["name"] == self.output_name:
                data = np.asarray(output["data"], dtype=np.float64)
                return data.reshape(-1, len(self.classes))
        raise KeyError(self.output_name)


class TorchOnnxRegressorModel(_TorchOnnxRequests):
    """A PyTorch regressor's ONNX export in ONNX Runtime on the CPU, and its V2 request.

    Attributes:
        output_name: The graph's output, ``predictions``, FP32 ``[rows, 1]``.
    """

    output_name = torch_artifact.ONNX_REGRESSION_OUTPUT

    def __init__(self, model_dir: str | Path) -> None:
        """Loads the export named by the manifest of the PyTorch Model in ``model_dir``.

        Raises:
            ComponentInputError: ``model_dir`` is not a PyTorch Model directory, its manifest's
                task is not regression, or its ONNX file is missing or unreadable.
        """
        model = torch_artifact.load_onnx_model(model_dir)
        if not isinstance(model, torch_artifact.TorchOnnxRegressor):
            raise ComponentInputError(
                f"PyTorch Model {model_dir} is a classifier (its manifest's task), not a regressor"
            )
        self._regressor = model
        self.path = model.path
        self.feature_columns = [str(name) for name in model.feature_names_in_]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """The predicted number of each row of ``frame``, float32 ``[rows]``."""
        return np.asarray(self._regressor.predict(self.features(frame))).reshape(-1)

"""Export a fitted scikit-learn model to ONNX, laid out as a Triton model repository.

The stock KServe runtime for the ``onnx`` model format is ``kserve-tritonserver`` (Triton with its
ONNX Runtime backend, V2 protocol only): kserve@aaac4e2 ``config/runtimes/kustomization.yaml``
installs it and ``kserve-tritonserver.yaml`` lists onnx "1" (autoSelect) and protocols v2 and
grpc-v2; ``kserve-openvino.yaml`` also lists onnx but is not installed by default. Triton reads a
model repository, so the export goes into the Model artifact's directory as::

    onnx/                      the repository: a KServe storageUri points here
      model/                   the model's name in V2 paths: /v2/models/model/infer
        config.pbtxt           inputs, outputs and their types, no batching dimension
        1/model.onnx           version 1, converted with skl2onnx

``model.joblib`` stays the directory's only ``.joblib``/``.pkl``/``.pickle`` file, so the sklearn
runtime serves the same directory unchanged.

The graph has one input per feature column, shape ``[rows, 1]``: ``FP32`` for numeric columns
(a missing value is NaN), ``BYTES`` (strings) for categorical ones (a missing value is the empty
string). Input names are the column names as skl2onnx sanitizes them (``mean radius`` becomes
``mean_radius``); the metadata maps each column to its input. Outputs: ``label`` (the predicted
class) and ``probabilities`` (one column per class, in ``classes`` order); a regressor's (the
Pipeline's last step is ``regressor``, metadata ``task: regression``): ``predictions``, FP32
``[rows, 1]``.

Differences from the joblib model, by construction:

- Numbers are float32 in the graph. A value within float32 rounding of a tree's split threshold
  can take the other branch, which moves that tree's vote; the serve-check compares both models
  on the test rows before anything is deployed. A regressor's predictions are float32 too, and
  are compared within a relative tolerance (see the serve-check).
- The categorical imputers of the joblib model replace NaN and None; an ONNX string tensor holds
  neither, so the exported graph replaces the empty string with the same fitted value.
"""

import copy
import dataclasses
import warnings
from pathlib import Path

import numpy as np
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.features import FeatureLayout

REPOSITORY_DIR = "onnx"
"""The Triton model repository inside the Model artifact's directory."""
MODEL_NAME = "model"
"""The model's name in the repository and in V2 request paths."""
MODEL_VERSION = "1"
ONNX_FILE = "model.onnx"
LABEL_OUTPUT = "label"
PROBABILITIES_OUTPUT = "probabilities"
PREDICTIONS_OUTPUT = "predictions"
"""A regressor's one output: the predicted number of each row, FP32 ``[rows, 1]``."""
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
"""ONNX opsets: 17 for the default domain, 3 for the ML domain (ONNX Runtime 1.14 and later,
Triton 23.02 and later)."""

_TRITON_TYPES = {"FP32": "TYPE_FP32", "BYTES": "TYPE_STRING", "INT64": "TYPE_INT64"}


@dataclasses.dataclass(frozen=True)
class OnnxInput:
    """One graph input: the feature column it carries, its name in the graph, its V2 datatype."""

    column: str
    name: str
    datatype: str


@dataclasses.dataclass(frozen=True)
class OnnxExport:
    """What :func:`export_onnx` wrote, as the Model artifact's ``onnx`` metadata records it."""

    inputs: list[OnnxInput]
    label_datatype: str
    classes: int
    task: str = "classification"

    def metadata(self) -> dict[str, object]:
        """JSON-ready metadata: paths relative to the model directory, inputs, outputs, opsets."""
        found: dict[str, object] = {
            "exported": True,
            "repository": REPOSITORY_DIR,
            "model_name": MODEL_NAME,
            "path": f"{REPOSITORY_DIR}/{MODEL_NAME}/{MODEL_VERSION}/{ONNX_FILE}",
            "inputs": [dataclasses.asdict(item) for item in self.inputs],
            "outputs": [LABEL_OUTPUT, PROBABILITIES_OUTPUT],
            "label_datatype": self.label_datatype,
            "opset": dict(sorted(TARGET_OPSET.items())),
        }
        if self.task == "regression":
            found.update(task="regression", outputs=[PREDICTIONS_OUTPUT])
            del found["label_datatype"]
        return found


def _label_datatype(classes: np.ndarray) -> str:
    if classes.dtype.kind in "iub":
        return "INT64"
    if classes.dtype.kind in "OUS":
        return "BYTES"
    raise ComponentInputError(
        f"cannot export to ONNX a classifier whose classes are {classes.dtype} values "
        f"({classes.tolist()[:5]}); ONNX labels are integers or strings: encode the target as one"
    )


def _string_imputer(fitted: Pipeline) -> SimpleImputer:
    """A string imputer replacing "" with the values the categorical pipeline's imputer learnt."""
    statistics = fitted.named_steps["impute"].statistics_
    return SimpleImputer(missing_values="", strategy="most_frequent").fit(
        np.array([statistics], dtype=object)
    )


def _convertible_copy(model: Pipeline, layout: FeatureLayout) -> Pipeline:
    """A copy of ``model`` whose preprocessing selects columns by name, one graph input each.

    The fitted ColumnTransformer picks columns by position of one 2-D input; skl2onnx maps named
    columns to named inputs, which lets numeric and text columns have their own types. The
    categorical imputers become one imputer of empty strings (see the module docstring).
    """
    converted = copy.deepcopy(model)
    transformer: ColumnTransformer = converted.named_steps["preprocess"]
    renamed = []
    for name, fitted, columns in transformer.transformers_:
        if isinstance(fitted, str):  # "drop" or "passthrough" remainder
            renamed.append((name, fitted, columns))
            continue
        if name == "categorical":
            fitted = Pipeline(
                [("impute", _string_imputer(fitted)), ("encode", fitted.named_steps["encode"])]
            )
        renamed.append((name, fitted, [layout.feature_columns[i] for i in columns]))
    transformer.transformers_ = renamed
    return converted


def _outputs_pbtxt(label_datatype: str | None, classes: int) -> list[str]:
    if label_datatype is None:  # a regressor
        return [
            f'  {{\n    name: "{PREDICTIONS_OUTPUT}"\n    data_type: TYPE_FP32\n'
            "    dims: [ -1, 1 ]\n  }"
        ]
    return [
        f'  {{\n    name: "{LABEL_OUTPUT}"\n    data_type: {_TRITON_TYPES[label_datatype]}\n'
        "    dims: [ -1 ]\n  },",
        f'  {{\n    name: "{PROBABILITIES_OUTPUT}"\n    data_type: TYPE_FP32\n'
        f"    dims: [ -1, {classes} ]\n  }}",
    ]


def _config_pbtxt(inputs: list[OnnxInput], label_datatype: str | None, classes: int) -> str:
    """Triton's model configuration: no batching dimension, every row count accepted."""
    lines = [
        f'name: "{MODEL_NAME}"',
        'platform: "onnxruntime_onnx"',
        "max_batch_size: 0",
        "input [",
    ]
    entries = [
        f'  {{\n    name: "{item.name}"\n    data_type: {_TRITON_TYPES[item.datatype]}\n'
        "    dims: [ -1, 1 ]\n  }"
        for item in inputs
    ]
    lines.append(",\n".join(entries))
    lines += ["]", "output [", *_outputs_pbtxt(label_datatype, classes), "]", ""]
    return "\n".join(lines)


def export_onnx(model: Pipeline, layout: FeatureLayout, model_dir: Path) -> OnnxExport:
    """Converts the fitted ``model`` with skl2onnx and writes the repository into ``model_dir``.

    Args:
        model: The fitted Pipeline (``preprocess`` ColumnTransformer, then ``classifier`` or
            ``regressor``).
        layout: The feature columns and their kinds the model was fitted with.
        model_dir: The Model artifact's directory being written (its temporary folder).

    Returns:
        The graph's inputs, label datatype and class count (a regressor: task regression, no
        classes).

    Raises:
        ComponentInputError: The classes are neither integers nor strings, or skl2onnx has no
            converter for a step of the model (the message names it).
    """
    regression = "regressor" in model.named_steps
    label_datatype = None if regression else _label_datatype(np.asarray(model.classes_))
    initial_types = [
        (column, StringTensorType([None, 1]))
        if column in layout.categorical
        else (column, FloatTensorType([None, 1]))
        for column in layout.feature_columns
    ]
    converted = _convertible_copy(model, layout)
    classifier = converted.named_steps["regressor" if regression else "classifier"]
    # A regressor's output is named by final_types (skl2onnx's default name is "variable").
    settings: dict[str, object] = (
        {"final_types": [(PREDICTIONS_OUTPUT, FloatTensorType([None, 1]))]}
        if regression
        else {"options": {id(classifier): {"zipmap": False}}}
    )
    try:
        with warnings.catch_warnings():
            # skl2onnx 1.20 hands onnx.helper booleans where ints are expected (harmless).
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="onnx.helper")
            graph = convert_sklearn(
                converted, initial_types=initial_types, target_opset=TARGET_OPSET, **settings
            )
    except (RuntimeError, NotImplementedError, TypeError, ValueError) as error:
        raise ComponentInputError(
            f"cannot export the {type(classifier).__name__} model to ONNX with skl2onnx: "
            f"{str(error).splitlines()[0] if str(error) else type(error).__name__}"
        ) from error
    names = [item.name for item in graph.graph.input]
    inputs = [
        OnnxInput(column, name, "BYTES" if column in layout.categorical else "FP32")
        for column, name in zip(layout.feature_columns, names, strict=True)
    ]
    classes = 0 if regression else len(model.classes_)
    version_dir = model_dir / REPOSITORY_DIR / MODEL_NAME / MODEL_VERSION
    version_dir.mkdir(parents=True)
    (version_dir / ONNX_FILE).write_bytes(graph.SerializeToString())
    (version_dir.parent / "config.pbtxt").write_text(
        _config_pbtxt(inputs, label_datatype, classes), encoding="utf-8"
    )
    return OnnxExport(
        inputs=inputs,
        label_datatype=label_datatype or "",
        classes=classes,
        task="regression" if regression else "classification",
    )

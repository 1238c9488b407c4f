"""Write a trained classifier or regressor as the PyTorch Model artifact (state dict, exports).

The exports are TorchScript and ONNX.

The layout is described in :mod:`.torch_artifact`. Both exports are checked before the directory
is moved into place: the TorchScript file (reloaded with ``torch.jit.load``) and the ONNX file (run
with onnxruntime) must answer the same probabilities (a regressor: the same predictions) as the
trained module on sample rows, missing values included.

ONNX is written by PyTorch's TorchScript-based exporter (``dynamo=False``): the torch.export-based
one needs the onnxscript package, which this project does not depend on. Both that exporter and
``torch.jit.trace`` print deprecation warnings in PyTorch 2.13; they are silenced here because the
formats they write are what Triton serves.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import torch

from kfp_mlops.components.common.atomic import atomic_directory
from kfp_mlops.components.common.torch_artifact import (
    FORMATS,
    MANIFEST_FILE,
    ONNX_FILE,
    ONNX_INPUT,
    ONNX_MODEL,
    STATE_DICT_FILE,
    TORCHSCRIPT_FILE,
    TORCHSCRIPT_INPUT,
    TORCHSCRIPT_MODEL,
    TORCHSCRIPT_OUTPUT,
    TorchOnnxClassifier,
    TorchOnnxRegressor,
    output_name,
    triton_config,
)
from kfp_mlops.components.training.torch_models import (
    ClassifierModule,
    RegressorModule,
    served_module,
)

ONNX_OPSET = 17
EXPORT_TOLERANCE = 1e-4
"""Largest difference allowed between an export's answers and the module's: absolute for
probabilities; for a regressor's predictions, relative to the target's standard deviation (the
float32 rounding of a prediction grows with its size)."""


class ExportMismatchError(RuntimeError):
    """An export answers differently from the trained module (a bug, not a bad input)."""


def _sample_rows(features: torch.Tensor, rows: int = 64) -> torch.Tensor:
    """Up to ``rows`` rows of ``features`` plus one all-missing row, to check the exports on."""
    sample = features[:rows].clone()
    missing = torch.full((1, features.shape[1]), float("nan"))
    return torch.cat([sample, missing])


def _check(name: str, produced: np.ndarray, expected: np.ndarray, unit: float = 1.0) -> None:
    difference = float(np.max(np.abs(produced - expected))) if expected.size else 0.0
    if produced.shape != expected.shape or not difference <= EXPORT_TOLERANCE * unit:
        raise ExportMismatchError(
            f"the {name} export answers differently from the trained module (shape "
            f"{list(produced.shape)} vs {list(expected.shape)}, largest difference "
            f"{difference:.3g})"
        )


def write_model_directory(
    classifier: ClassifierModule,
    model_dir: str,
    manifest: dict[str, object],
    sample_features: torch.Tensor,
) -> dict[str, str]:
    """Exports ``classifier`` (or a regressor) and writes the whole Model directory atomically.

    Args:
        classifier: The trained module (moved to CPU, float32, eval mode here); a
            :class:`.RegressorModule` is written as a regressor (format, task and output
            ``predictions`` in the manifest).
        model_dir: The directory to create or replace as a whole.
        manifest: What the manifest records besides format, files and tensor names:
            architecture, hyperparameters, feature_columns, classes, target_column...
        sample_features: Rows (e.g. the validation split) on which the exports are checked.

    Returns:
        The files written, by role (relative paths).

    Raises:
        ExportMismatchError: An export answers differently from the module.
    """
    classifier = classifier.to("cpu", torch.float32).eval()
    served = served_module(classifier).eval()
    regression = isinstance(classifier, RegressorModule)
    task = "regression" if regression else "classification"
    output = output_name(task)
    unit = float(classifier.target_scale) if regression else 1.0
    n_features = int(classifier.fill.shape[0])
    sample = _sample_rows(sample_features.to("cpu", torch.float32))
    with torch.no_grad():
        expected = served(sample).numpy()
    n_classes = int(expected.shape[1])
    files = {
        "state_dict": STATE_DICT_FILE,
        "onnx": ONNX_FILE,
        "torchscript": TORCHSCRIPT_FILE,
        "onnx_config": f"{ONNX_MODEL}/config.pbtxt",
        "torchscript_config": f"{TORCHSCRIPT_MODEL}/config.pbtxt",
    }
    with atomic_directory(model_dir) as folder:
        torch.save(classifier.state_dict(), folder / STATE_DICT_FILE)
        for relative in (ONNX_FILE, TORCHSCRIPT_FILE):
            (folder / relative).parent.mkdir(parents=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            traced = torch.jit.trace(served, sample[:2], check_trace=False)
            traced.save(str(folder / TORCHSCRIPT_FILE))
            torch.onnx.export(
                served,
                (sample[:2],),
                str(folder / ONNX_FILE),
                dynamo=False,
                opset_version=ONNX_OPSET,
                input_names=[ONNX_INPUT],
                output_names=[output],
                dynamic_axes={ONNX_INPUT: {0: "batch"}, output: {0: "batch"}},
            )
            reloaded = torch.jit.load(str(folder / TORCHSCRIPT_FILE), map_location="cpu")
        with torch.no_grad():
            _check("TorchScript", reloaded(sample).numpy(), expected, unit)
        columns = [str(i) for i in range(n_features)]
        onnx = (
            TorchOnnxRegressor(folder / ONNX_FILE, columns)
            if regression
            else TorchOnnxClassifier(folder / ONNX_FILE, columns, [])
        )
        _check("ONNX", onnx.raw_output(sample.numpy()), expected, unit)
        (folder / files["onnx_config"]).write_text(
            triton_config(
                ONNX_MODEL, "onnxruntime_onnx", ONNX_INPUT, output, n_features, n_classes
            ),
            encoding="utf-8",
        )
        (folder / files["torchscript_config"]).write_text(
            triton_config(
                TORCHSCRIPT_MODEL,
                "pytorch_libtorch",
                TORCHSCRIPT_INPUT,
                TORCHSCRIPT_OUTPUT,
                n_features,
                n_classes,
            ),
            encoding="utf-8",
        )
        full = {
            "format": FORMATS[task],
            "framework": "pytorch",
            "task": task,
            **manifest,
            "input": {"name": ONNX_INPUT, "datatype": "FP32", "shape": [-1, n_features]},
            "output": {"name": output, "datatype": "FP32", "shape": [-1, n_classes]},
            "torchscript_tensors": {"input": TORCHSCRIPT_INPUT, "output": TORCHSCRIPT_OUTPUT},
            "files": files,
            "serving": {
                "runtime": "kserve-tritonserver",
                "model_formats": ["onnx", "pytorch"],
                "triton_models": {"onnx": ONNX_MODEL, "torchscript": TORCHSCRIPT_MODEL},
            },
        }
        (folder / MANIFEST_FILE).write_text(json.dumps(full, indent=2) + "\n", encoding="utf-8")
    return files


def load_state_dict(model_dir: str | Path) -> dict[str, torch.Tensor]:
    """The state dict of a PyTorch Model directory, read with ``weights_only=True``."""
    return torch.load(Path(model_dir) / STATE_DICT_FILE, map_location="cpu", weights_only=True)

"""Log a PyTorch Model artifact (train_pytorch) to an MLflow run.

The logged MLflow model is the artifact's ONNX export (``mlflow.onnx``; what KServe's Triton
runtime serves and what evaluation scored), with a signature and input example from a few test
rows; its pyfunc answers class probabilities (a classifier) or the predicted numbers, ``[rows, 1]``
(a regressor). The whole artifact directory (state dict, TorchScript, Triton configs, manifest) is
logged beside it under ``pytorch_model/``, so the registered version keeps every format training
wrote.
"""

from collections.abc import Mapping
from importlib.metadata import version

import mlflow
import mlflow.onnx
import onnx
import pandas as pd
from mlflow.models import infer_signature
from mlflow.models.model import ModelInfo

from kfp_mlops.components.common import torch_artifact

REQUIREMENTS = ("onnxruntime", "onnx", "numpy", "pandas")
"""What loading the logged ONNX model needs besides MLflow itself."""


def log_pytorch_model(
    model_dir: str, example: pd.DataFrame, model_metadata: Mapping[str, object]
) -> ModelInfo:
    """Logs the ONNX export of ``model_dir`` as ``model`` and the directory as ``pytorch_model``.

    Must run inside an active MLflow run.
    """
    model = torch_artifact.load_onnx_model(model_dir)
    rows = example.astype("float32")
    logged = mlflow.onnx.log_model(
        onnx.load(str(model.path)),
        name="model",
        signature=infer_signature(rows, model.raw_output(rows)),
        input_example=rows,
        pip_requirements=[f"{name}=={version(name)}" for name in REQUIREMENTS],
        metadata=dict(model_metadata),
    )
    mlflow.log_artifacts(model_dir, artifact_path="pytorch_model")
    return logged

"""The Triton stand-in refuses what Triton refuses, and answers what the sklearn model predicts.

Its checks are Triton's (``InferenceRequest::Normalize`` in triton-inference-server/core
``src/infer_request.cc``) against the export's own config.pbtxt; its answers come from ONNX
Runtime, and are compared here with the sklearn model's predictions, not with ONNX Runtime again.
"""

import copy
import json
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from deployment.onnx_v2_server import configured_inputs, onnx_v2_server

from kfp_mlops.components.common.features import feature_frame
from kfp_mlops.components.common.model_loading import load_model_dir
from kfp_mlops.components.common.onnx_model import OnnxClassifier, v2_request
from kfp_mlops.components.common.tables import read_parquet
from kfp_mlops.components.training.train import train_to_directory


@pytest.fixture(scope="module")
def trained(tmp_path_factory, breast_cancer_splits) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("forest") / "model"
    metadata = train_to_directory(
        breast_cancer_splits["train"], str(folder), "target", "random_forest", {"n_estimators": 30}
    )
    return folder, metadata


@pytest.fixture(scope="module")
def rows(trained, breast_cancer_splits):
    return feature_frame(read_parquet(breast_cancer_splits["test"]), trained[1]["feature_columns"])


def infer(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{url}/v2/models/model/infer",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_served_labels_are_the_sklearn_models_predictions(trained, rows):
    folder, metadata = trained
    onnx = OnnxClassifier(folder, metadata)
    sklearn_labels = np.asarray(load_model_dir(folder).predict(rows))

    with onnx_v2_server(onnx.path) as url:
        code, answer = infer(url, v2_request(onnx.layout, rows, "1"))

    assert code == 200
    (label,) = answer["outputs"]
    served = np.asarray(label["data"])
    assert label["name"] == "label" and label["shape"] == [len(rows)]
    # ONNX Runtime computes in float32, the forest's thresholds in float64: a row on a threshold
    # may flip. The serve-check's default agreement (99 %) is what a deployment is held to.
    agreement = float(np.mean(served.astype(sklearn_labels.dtype) == sklearn_labels))
    assert agreement >= 0.99, agreement


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda body: body["inputs"][0].update(datatype="FP64"),
            "inference input data-type is 'FP64', model expects 'FP32' for 'model'",
        ),
        (
            lambda body: body["inputs"][0].update(shape=[body["inputs"][0]["shape"][0]]),
            "unexpected shape for input '{first}' for model 'model'. Expected [-1,1], got [{rows}]",
        ),
        (
            lambda body: body["inputs"][0].update(name="nope"),
            "unexpected inference input 'nope' for model 'model'",
        ),
        (
            lambda body: body["inputs"].pop(),
            "expected {inputs} inputs but got {fewer} inputs for model 'model'",
        ),
    ],
    ids=["datatype", "shape", "unknown-input", "missing-input"],
)
def test_requests_that_do_not_match_config_pbtxt_are_refused_as_triton_does(
    trained, rows, change, message
):
    folder, metadata = trained
    onnx = OnnxClassifier(folder, metadata)
    body = v2_request(onnx.layout, rows.head(5), "1")
    inputs = configured_inputs(onnx.path.parent.parent / "config.pbtxt")
    first = body["inputs"][0]["name"]
    wrong = copy.deepcopy(body)
    change(wrong)

    with onnx_v2_server(onnx.path) as url:
        assert infer(url, body)[0] == 200
        code, answer = infer(url, wrong)

    assert code == 400
    assert answer == {
        "error": message.format(first=first, rows=5, inputs=len(inputs), fewer=len(inputs) - 1)
    }

"""The deployment step for regressors in the ``onnx`` format (Triton): a scikit-learn regressor's
export and a PyTorch regressor's, the fake API server, and smoke requests answered by a V2 server
running the Model's own ONNX file (as Triton does), asking for ``predictions``."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from deployment.onnx_v2_server import onnx_v2_server
from support.torch_training import train_small_mlp

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.model_loading import load_model_dir
from kfp_mlops.components.common.onnx_model import OnnxRegressor
from kfp_mlops.components.common.torch_artifact import ONNX_FILE
from kfp_mlops.components.deployment import kserve_manifest as km
from kfp_mlops.components.deployment.deploy import deploy_model
from kfp_mlops.components.deployment.smoke import PREDICTION_TOLERANCE, smoke_request
from kfp_mlops.components.training.train_regressor import train_regressor_to_directory

pytestmark = pytest.mark.slow

NAME = "diabetes"
NAMESPACE = "models"
RIDGE = "s3://mlpipeline/v2/artifacts/run-1/train-sklearn-regressor/model"
MLP = "s3://mlpipeline/v2/artifacts/run-1/train-pytorch/model"


@pytest.fixture(scope="module")
def ridge(tmp_path_factory, diabetes_splits) -> tuple[Path, dict]:
    """A ridge regression from train_sklearn_regressor: model.joblib and its ONNX export."""
    folder = tmp_path_factory.mktemp("ridge") / "model"
    metadata = train_regressor_to_directory(
        diabetes_splits["train"], str(folder), "target", "ridge"
    )
    return folder, metadata


@pytest.fixture(scope="module")
def mlp(tmp_path_factory, diabetes_splits) -> tuple[Path, dict]:
    """A small PyTorch MLP regressor from train_pytorch."""
    folder = tmp_path_factory.mktemp("mlp-regressor") / "model"
    return folder, train_small_mlp(diabetes_splits, folder, task="regression")


def deploy(trained, splits, output: Path, uri: str) -> dict:
    folder, metadata = trained
    return deploy_model(
        model_dir=str(folder),
        model_uri=uri,
        model_metadata=metadata,
        test_path=splits["test"],
        service_name=NAME,
        output_path=str(output),
        model_format="onnx",
        ready_timeout_seconds=10,
    )


def _rows(splits, metadata) -> pd.DataFrame:
    return pd.read_parquet(splits["test"])[metadata["feature_columns"]].head(5)


def test_sklearn_regressor_smoke_request_asks_for_predictions(ridge, diabetes_splits):
    folder, metadata = ridge
    rows = _rows(diabetes_splits, metadata)

    request = smoke_request(km.MODEL_FORMATS["onnx"], NAME, str(folder), metadata, rows)

    assert request.path == "/v2/models/model/infer"
    assert request.body["outputs"] == [{"name": "predictions"}]
    assert [tensor["shape"] for tensor in request.body["inputs"]] == [[5, 1]] * 10
    expected = OnnxRegressor(folder, metadata).predict(rows)
    np.testing.assert_array_equal(request.expected, expected)
    # the export and the fitted ridge agree, so the smoke checks the numbers users get
    np.testing.assert_allclose(request.expected, load_model_dir(folder).predict(rows), rtol=1e-5)
    assert request.relative_tolerance == PREDICTION_TOLERANCE


def test_pytorch_regressor_smoke_request_asks_for_predictions(mlp, diabetes_splits):
    folder, metadata = mlp
    rows = _rows(diabetes_splits, metadata)

    request = smoke_request(km.MODEL_FORMATS["onnx"], NAME, str(folder), metadata, rows)

    (tensor,) = request.body["inputs"]
    assert tensor["name"] == "features" and tensor["shape"] == [5, 10]
    assert request.body["outputs"] == [{"name": "predictions"}]
    np.testing.assert_array_equal(request.expected, load_model_dir(folder).predict(rows))
    assert request.relative_tolerance == PREDICTION_TOLERANCE


@pytest.mark.parametrize(
    ("trained", "uri", "onnx_file"),
    [("ridge", RIDGE, "onnx/model/1/model.onnx"), ("mlp", MLP, ONNX_FILE)],
)
def test_regressor_is_deployed_in_the_onnx_format(
    kube, request, trained, uri, onnx_file, diabetes_splits, tmp_path
):
    model = request.getfixturevalue(trained)
    received: list[dict] = []
    storage = f"{uri}/onnx" if trained == "ridge" else uri
    with onnx_v2_server(model[0] / onnx_file, received=received) as url:
        kube.behaviour.endpoints[storage] = url

        description = deploy(model, diabetes_splits, tmp_path / "s.json", uri)

    assert description["action"] == "created" and description["storage_uri"] == storage
    served = kube.stored(NAMESPACE, NAME)["spec"]["predictor"]["model"]
    assert served["modelFormat"] == {"name": "onnx", "version": "1"}
    assert served["protocolVersion"] == "v2"
    (smoke,) = received
    assert smoke["outputs"] == [{"name": "predictions"}]


@pytest.mark.parametrize(
    ("trained", "uri", "onnx_file"),
    [("ridge", RIDGE, "onnx/model/1/model.onnx"), ("mlp", MLP, ONNX_FILE)],
)
def test_a_server_answering_other_numbers_fails_the_smoke_naming_the_row(
    kube, request, trained, uri, onnx_file, diabetes_splits, tmp_path
):
    model = request.getfixturevalue(trained)
    storage = f"{uri}/onnx" if trained == "ridge" else uri
    output = tmp_path / "s.json"

    def one_percent_higher_on_row_2(name: str, values: np.ndarray) -> np.ndarray:
        changed = values.copy()
        changed[2] *= 1.01
        return changed

    with onnx_v2_server(model[0] / onnx_file, tamper=one_percent_higher_on_row_2) as url:
        kube.behaviour.endpoints[storage] = url
        with pytest.raises(ComponentInputError) as raised:
            deploy(model, diabetes_splits, output, uri)

    message = str(raised.value)
    assert "the smoke request failed:" in message
    assert "/v2/models/model/infer predicted" in message
    assert "for smoke row 2, where the deployed model predicts" in message
    assert "1 of 5 differ" in message
    assert not output.exists()


def test_served_numbers_within_float32_rounding_pass(ridge, diabetes_splits):
    folder, metadata = ridge
    rows = _rows(diabetes_splits, metadata)
    request = smoke_request(km.MODEL_FORMATS["onnx"], NAME, str(folder), metadata, rows)

    def nudged(name: str, values: np.ndarray) -> np.ndarray:
        return values * np.float32(1 + 1e-6)  # a float32 rounding step or two, as other kernels

    with onnx_v2_server(folder / "onnx/model/1/model.onnx", tamper=nudged) as url:
        request.send(url)

"""The deployment step for PyTorch Models: a real (small) train_pytorch Model, the fake API server,
and smoke requests answered by a V2 server running the Model's own ONNX file (as Triton does).

The labels are text ("benign", "malignant"), so the answer's probability columns must be mapped to
the Model's ``classes`` to compare predicted classes.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from deployment import crd
from deployment.onnx_v2_server import onnx_v2_server
from kfp import dsl
from support.torch_training import train_small_mlp

from kfp_mlops.components import deployment
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.model_loading import load_model_dir
from kfp_mlops.components.common.onnx_model import TorchOnnxModel
from kfp_mlops.components.common.tables import read_parquet, write_parquet
from kfp_mlops.components.common.torch_artifact import ONNX_FILE
from kfp_mlops.components.data.ingest import ingest_to_parquet
from kfp_mlops.components.data.split import split_to_parquet
from kfp_mlops.components.deployment import kserve_manifest as km
from kfp_mlops.components.deployment.deploy import deploy_model
from kfp_mlops.components.deployment.rollout import traffic
from kfp_mlops.components.deployment.smoke import PROBABILITY_TOLERANCE, smoke_request

NAME = "tumours"
NAMESPACE = "models"
FIRST = "s3://mlpipeline/v2/artifacts/run-1/train-pytorch/model"
SECOND = "s3://mlpipeline/v2/artifacts/run-2/train-pytorch/model"
LABELS = {0: "malignant", 1: "benign"}
SWAPPED = {"malignant": "benign", "benign": "malignant"}


@pytest.fixture(scope="module")
def splits(tmp_path_factory, breast_cancer_frame) -> dict[str, str]:
    """Breast cancer with text labels, split by our data steps."""
    folder = tmp_path_factory.mktemp("tumours")
    frame = breast_cancer_frame.assign(target=breast_cancer_frame["target"].map(LABELS))
    frame.to_csv(folder / "tumours.csv", index=False)
    ingest_to_parquet(str(folder / "tumours.csv"), str(folder / "dataset.parquet"))
    paths = {name: str(folder / f"{name}.parquet") for name in ("train", "validation", "test")}
    split_to_parquet(str(folder / "dataset.parquet"), paths, "target")
    return paths


@pytest.fixture(scope="module")
def trained(tmp_path_factory, splits) -> tuple[Path, dict]:
    """A small MLP from train_pytorch: the Model directory and its metadata."""
    folder = tmp_path_factory.mktemp("torch") / "model"
    return folder, train_small_mlp(splits, folder)


@pytest.fixture(scope="module")
def inverted(tmp_path_factory, splits) -> tuple[Path, dict]:
    """The same training on swapped labels: a Model that answers wrongly."""
    folder = tmp_path_factory.mktemp("inverted")
    swapped = {}
    for name in ("train", "validation"):
        frame = read_parquet(splits[name]).to_pandas()
        frame["target"] = frame["target"].map(SWAPPED)
        swapped[name] = str(folder / f"{name}.parquet")
        write_parquet(pa.Table.from_pandas(frame, preserve_index=False), swapped[name])
    return folder / "model", train_small_mlp(swapped, folder / "model")


def deploy(trained, splits, output: Path, uri: str = FIRST, **options) -> dict:
    folder, metadata = trained
    return deploy_model(
        model_dir=str(folder),
        model_uri=uri,
        model_metadata=metadata,
        test_path=splits["test"],
        service_name=NAME,
        output_path=str(output),
        model_format=options.pop("model_format", "onnx"),
        ready_timeout_seconds=options.pop("ready_timeout_seconds", 10),
        **options,
    )


def test_metadata_says_pytorch(trained):
    assert trained[1]["framework"] == "pytorch"
    assert trained[1]["classes"] == ["benign", "malignant"]


def test_smoke_request_is_one_features_tensor_asking_for_probabilities(trained, splits):
    folder, metadata = trained
    rows = pd.read_parquet(splits["test"])[metadata["feature_columns"]].head(5)

    request = smoke_request(km.MODEL_FORMATS["onnx"], NAME, str(folder), metadata, rows)

    assert request.path == "/v2/models/model/infer"
    (tensor,) = request.body["inputs"]
    assert tensor["name"] == "features" and tensor["datatype"] == "FP32"
    assert tensor["shape"] == [5, len(metadata["feature_columns"])]
    assert np.allclose(
        np.asarray(tensor["data"]).reshape(5, -1), rows.to_numpy(dtype=np.float32), rtol=1e-6
    )
    assert request.body["outputs"] == [{"name": "probabilities"}]
    # Expected: the ONNX file's classes (text, mapped from the probability columns) and its
    # probabilities, as the serve-check's loader computes them too.
    offline = load_model_dir(folder)
    assert request.expected.tolist() == offline.predict(rows).tolist()
    assert set(request.expected.tolist()) <= {"benign", "malignant"}
    np.testing.assert_allclose(request.expected_probabilities, offline.predict_proba(rows))
    assert request.tolerance == PROBABILITY_TOLERANCE


def test_smoke_rows_with_a_missing_value_are_refused(trained, splits):
    model = TorchOnnxModel(trained[0])
    rows = pd.read_parquet(splits["test"])[model.feature_columns].head(2)
    rows.iloc[1, 3] = np.nan

    with pytest.raises(ComponentInputError, match="'features' has a missing value"):
        model.v2_request(rows, "smoke")


def test_pytorch_model_asked_for_sklearn_fails_naming_its_formats(kube, trained, splits, tmp_path):
    with pytest.raises(ComponentInputError) as raised:
        deploy(trained, splits, tmp_path / "s.json", model_format="sklearn")

    assert str(raised.value) == (
        "a pytorch Model cannot be served as 'sklearn'; its formats are: onnx"
    )
    assert kube.requests == []


def test_pytorch_metadata_without_the_pytorch_directory_is_refused(kube, trained, splits, tmp_path):
    empty = tmp_path / "model"
    empty.mkdir()

    with pytest.raises(
        ComponentInputError, match=r"is not a PyTorch Model: no kfp_mlops_model\.json"
    ):
        deploy((empty, trained[1]), splits, tmp_path / "s.json")
    assert kube.requests == []


@pytest.mark.slow
def test_first_deployment_serves_the_directory_with_triton(kube, trained, splits, tmp_path):
    received: list[dict] = []
    output = tmp_path / "service.json"
    with onnx_v2_server(trained[0] / ONNX_FILE, received=received) as url:
        kube.behaviour.endpoints[FIRST] = url

        description = deploy(trained, splits, output)

    assert description["action"] == "created"
    assert description["revision"] == f"{NAME}-predictor-00001"
    assert description["storage_uri"] == FIRST  # the directory itself is the repository
    assert description["model_format"] == "onnx"
    written = json.loads(output.read_text())
    assert crd.errors(written["manifest"]) == []
    model = kube.stored(NAMESPACE, NAME)["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "onnx", "version": "1"}
    assert model["protocolVersion"] == "v2"
    assert model["storageUri"] == FIRST
    (request,) = received
    assert [tensor["name"] for tensor in request["inputs"]] == ["features"]
    assert request["outputs"] == [{"name": "probabilities"}]


@pytest.mark.slow
def test_second_deployment_is_a_canary_then_promoted(kube, trained, splits, tmp_path):
    received: list[dict] = []
    with onnx_v2_server(trained[0] / ONNX_FILE, received=received) as url:
        kube.behaviour.endpoints.update({FIRST: url, SECOND: url})
        deploy(trained, splits, tmp_path / "first.json")

        description = deploy(trained, splits, tmp_path / "second.json", SECOND)

    assert description["action"] == "canary-promoted"
    assert description["previous_revision"] == f"{NAME}-predictor-00001"
    assert description["revision"] == f"{NAME}-predictor-00002"
    assert [(item["revisionName"], item["percent"]) for item in description["traffic"]] == [
        (f"{NAME}-predictor-00002", 100)
    ]
    canary, promotion = kube.patches
    assert canary["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert canary["spec"]["predictor"]["model"] == {"storageUri": SECOND}
    assert promotion["spec"] == {"predictor": {"canaryTrafficPercent": None}}
    assert len(received) == 2  # one smoke request per rollout
    assert crd.errors(kube.stored(NAMESPACE, NAME)) == []


def _percents(kube) -> dict[str, int]:
    live = kube.stored(NAMESPACE, NAME)
    return {item["revisionName"]: item["percent"] for item in traffic(live) if item["percent"]}


@pytest.mark.slow
def test_wrong_classes_roll_the_canary_back_and_write_nothing(
    kube, trained, inverted, splits, tmp_path
):
    output = tmp_path / "second.json"
    with (
        onnx_v2_server(trained[0] / ONNX_FILE) as good,
        onnx_v2_server(inverted[0] / ONNX_FILE) as wrong,
    ):
        kube.behaviour.endpoints.update({FIRST: good, SECOND: wrong})
        deploy(trained, splits, tmp_path / "first.json")

        with pytest.raises(ComponentInputError) as raised:
            deploy(trained, splits, output, SECOND)

    message = str(raised.value)
    assert "\n" not in message
    assert "the smoke request failed:" in message
    assert "/v2/models/model/infer predicted '" in message
    assert "where the deployed model predicts '" in message
    assert f"rolled back: 100% of traffic on revision {NAME}-predictor-00001" in message
    assert not output.exists()
    assert kube.stored(NAMESPACE, NAME)["spec"]["predictor"]["model"]["storageUri"] == FIRST
    assert _percents(kube) == {f"{NAME}-predictor-00001": 100}


@pytest.mark.slow
def test_probabilities_off_by_more_than_the_tolerance_roll_back(kube, trained, splits, tmp_path):
    def smoothed(name: str, values: np.ndarray) -> np.ndarray:
        # The same predicted classes, probabilities pulled 10 % toward uniform.
        return 0.9 * values + 0.1 / values.shape[1] if name == "probabilities" else values

    with (
        onnx_v2_server(trained[0] / ONNX_FILE) as good,
        onnx_v2_server(trained[0] / ONNX_FILE, tamper=smoothed) as smoothing,
    ):
        kube.behaviour.endpoints.update({FIRST: good, SECOND: smoothing})
        deploy(trained, splits, tmp_path / "first.json")

        with pytest.raises(ComponentInputError) as raised:
            deploy(trained, splits, tmp_path / "second.json", SECOND)

    message = str(raised.value)
    assert "/v2/models/model/infer answered probabilities [" in message
    assert f"> tolerance {PROBABILITY_TOLERANCE:g}" in message
    assert f"rolled back: 100% of traffic on revision {NAME}-predictor-00001" in message
    assert _percents(kube) == {f"{NAME}-predictor-00001": 100}


@pytest.mark.slow
def test_component_deploys_a_pytorch_model(kube, trained, splits, tmp_path):
    folder, metadata = trained
    model = dsl.Model(uri=FIRST, metadata=dict(metadata))
    model.custom_path = str(folder)  # the local copy KFP would have downloaded
    service = dsl.Artifact(uri=str(tmp_path / "inference_service"))

    with onnx_v2_server(folder / ONNX_FILE) as url:
        kube.behaviour.endpoints[FIRST] = url
        outputs = deployment.deploy_inference_service.python_func(
            model=model,
            test=dsl.Dataset(uri=splits["test"]),
            service_name=NAME,
            inference_service=service,
            model_format="onnx",
            ready_timeout_seconds=10,
        )

    assert outputs.action == "created"
    assert service.metadata["model_format"] == "onnx"
    assert service.metadata["storage_uri"] == FIRST

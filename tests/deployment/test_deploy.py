"""The deployment step end to end: a trained Model, the fake API server, and smoke requests that
reach a real KServe model server (sklearn) or ONNX Runtime behind a V2 endpoint (ONNX)."""

import json
from pathlib import Path

import pytest
from deployment import crd
from deployment.model_dirs import TARGET, fit_pipeline, write_model_dir
from deployment.onnx_v2_server import onnx_v2_server
from kfp import dsl

from kfp_mlops.components import deployment
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.tables import read_parquet
from kfp_mlops.components.deployment.deploy import deploy_model
from kfp_mlops.components.serving.local_server import running_model_server
from kfp_mlops.components.training.train import train_to_directory

pytestmark = pytest.mark.slow

NAME = "breast-cancer"
FIRST = "s3://mlpipeline/v2/artifacts/run-1/train-sklearn/model"
SECOND = "s3://mlpipeline/v2/artifacts/run-2/train-sklearn/model"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, breast_cancer_splits) -> tuple[Path, dict]:
    """A logistic regression from train_to_directory: model.joblib and the ONNX export."""
    folder = tmp_path_factory.mktemp("trained") / "model"
    metadata = train_to_directory(
        breast_cancer_splits["train"], str(folder), TARGET, "logistic_regression"
    )
    return folder, metadata


@pytest.fixture(scope="module")
def served(trained) -> str:
    """The trained model in the KServe model server, named as the InferenceService."""
    with running_model_server(trained[0], model_name=NAME) as server:
        yield server.url


@pytest.fixture(scope="module")
def wrong_server(tmp_path_factory, breast_cancer_splits) -> str:
    """A model server answering for NAME with a model trained on inverted labels."""
    train = read_parquet(breast_cancer_splits["train"]).to_pandas()
    train[TARGET] = 1 - train[TARGET]
    folder = tmp_path_factory.mktemp("inverted") / "model"
    write_model_dir(folder, fit_pipeline(train), train)
    with running_model_server(folder, model_name=NAME) as server:
        yield server.url


def deploy(trained, splits, output: Path, uri: str = FIRST, **options) -> dict:
    folder, metadata = trained
    return deploy_model(
        model_dir=str(folder),
        model_uri=uri,
        model_metadata=metadata,
        test_path=splits["test"],
        service_name=NAME,
        output_path=str(output),
        ready_timeout_seconds=options.pop("ready_timeout_seconds", 10),
        **options,
    )


def test_first_deployment_creates_the_service_and_describes_it(
    kube, trained, served, breast_cancer_splits, tmp_path
):
    kube.behaviour.endpoints[FIRST] = served
    output = tmp_path / "service.json"

    description = deploy(trained, breast_cancer_splits, output)

    assert description["action"] == "created"
    assert description["namespace"] == "models"  # from the kubeconfig context
    assert description["revision"] == f"{NAME}-predictor-00001"
    assert description["storage_uri"] == FIRST
    assert description["smoke_rows"] == 5
    written = json.loads(output.read_text())
    assert {key: value for key, value in written.items() if key != "manifest"} == description
    assert crd.errors(written["manifest"]) == []
    stored = kube.stored("models", NAME)
    assert stored["metadata"]["annotations"]["kfp-mlops/artifact-uri"] == FIRST
    assert stored["spec"]["predictor"]["model"]["protocolVersion"] == "v1"


def test_second_deployment_is_a_canary_answered_by_the_real_server(
    kube, trained, served, breast_cancer_splits, tmp_path
):
    kube.behaviour.endpoints.update({FIRST: served, SECOND: served})
    deploy(trained, breast_cancer_splits, tmp_path / "first.json")

    description = deploy(trained, breast_cancer_splits, tmp_path / "second.json", SECOND)

    assert description["action"] == "canary-promoted"
    assert description["previous_revision"] == f"{NAME}-predictor-00001"
    assert [(item["revisionName"], item["percent"]) for item in description["traffic"]] == [
        (f"{NAME}-predictor-00002", 100)
    ]


def test_wrong_answers_roll_the_canary_back_and_write_nothing(
    kube, trained, served, wrong_server, breast_cancer_splits, tmp_path
):
    kube.behaviour.endpoints.update({FIRST: served, SECOND: wrong_server})
    deploy(trained, breast_cancer_splits, tmp_path / "first.json")
    output = tmp_path / "second.json"

    with pytest.raises(ComponentInputError) as raised:
        deploy(trained, breast_cancer_splits, output, SECOND)

    message = str(raised.value)
    assert "the smoke request failed:" in message
    assert f"/v1/models/{NAME}:predict predicted" in message
    assert "where the deployed model predicts" in message
    assert f"rolled back: 100% of traffic on revision {NAME}-predictor-00001" in message
    assert not output.exists()
    assert kube.stored("models", NAME)["spec"]["predictor"]["model"]["storageUri"] == FIRST


def test_unreachable_revision_is_rolled_back(kube, trained, served, breast_cancer_splits, tmp_path):
    kube.behaviour.endpoints.update({FIRST: served, SECOND: "http://127.0.0.1:9"})
    deploy(trained, breast_cancer_splits, tmp_path / "first.json")

    with pytest.raises(
        ComponentInputError, match=r"POST http://127\.0\.0\.1:9/v1/models/.* failed"
    ):
        deploy(trained, breast_cancer_splits, tmp_path / "second.json", SECOND)


def test_onnx_format_is_served_by_the_triton_runtime_layout(
    kube, trained, breast_cancer_splits, tmp_path
):
    folder, metadata = trained
    with onnx_v2_server(folder / metadata["onnx"]["path"]) as url:
        kube.behaviour.endpoints[f"{FIRST}/onnx"] = url

        description = deploy(
            trained, breast_cancer_splits, tmp_path / "s.json", model_format="onnx"
        )

    assert description["storage_uri"] == f"{FIRST}/onnx"
    model = kube.stored("models", NAME)["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "onnx", "version": "1"}
    assert model["protocolVersion"] == "v2"


def test_local_model_uri_is_refused_before_any_api_call(
    kube, trained, breast_cancer_splits, tmp_path
):
    with pytest.raises(ComponentInputError, match="is not one KServe can fetch"):
        deploy(trained, breast_cancer_splits, tmp_path / "s.json", uri=str(trained[0]))
    assert kube.requests == []


def test_onnx_format_without_an_export_is_refused(
    kube, breast_cancer_model, breast_cancer_splits, tmp_path
):
    with pytest.raises(ComponentInputError, match="no ONNX export"):
        deploy(breast_cancer_model, breast_cancer_splits, tmp_path / "s.json", model_format="onnx")
    assert kube.requests == []


def test_component_outputs_the_service_artifact(
    kube, trained, served, breast_cancer_splits, tmp_path
):
    folder, metadata = trained
    kube.behaviour.endpoints[FIRST] = served
    model = dsl.Model(uri=FIRST, metadata=dict(metadata))
    model.custom_path = str(folder)  # the local copy KFP would have downloaded
    service = dsl.Artifact(uri=str(tmp_path / "inference_service"))

    outputs = deployment.deploy_inference_service.python_func(
        model=model,
        test=dsl.Dataset(uri=breast_cancer_splits["test"]),
        service_name=NAME,
        inference_service=service,
        namespace="",
        ready_timeout_seconds=10,
    )

    assert outputs.action == "created"
    assert outputs.revision == f"{NAME}-predictor-00001"
    assert outputs.url == f"http://{NAME}.models.example.com"
    assert service.metadata["name"] == NAME and service.metadata["namespace"] == "models"
    assert json.loads(Path(service.path).read_text())["manifest"]["kind"] == "InferenceService"

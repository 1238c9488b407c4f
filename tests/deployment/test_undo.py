"""A deployment whose promotion is refused is rolled back to the champion's recorded deployment."""

import pytest
from deployment.model_dirs import fit_pipeline, write_model_dir
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from support.mlflow_store import aliases, empty_store, fresh_store, register_version

from kfp_mlops.components.common.errors import ComponentInputError, ExternalSystemError
from kfp_mlops.components.common.tables import read_parquet
from kfp_mlops.components.deployment import kserve_manifest as km
from kfp_mlops.components.deployment.undo import promote_deployed
from kfp_mlops.components.registry.promotion import promote
from kfp_mlops.components.serving.local_server import running_model_server

NAME = "breast-cancer"
NAMESPACE = "models"
CHAMPION = "s3://bucket/run-1/model"
REFUSED = "s3://bucket/run-2/model"

pytestmark = pytest.mark.slow


@pytest.fixture
def store(tmp_path) -> str:
    return fresh_store(empty_store(tmp_path), tmp_path / "mlruns")


@pytest.fixture(scope="module")
def served(tmp_path_factory, breast_cancer_splits) -> str:
    train = read_parquet(breast_cancer_splits["train"]).to_pandas()
    folder = tmp_path_factory.mktemp("model") / "model"
    write_model_dir(folder, fit_pipeline(train), train)
    with running_model_server(folder, model_name=NAME) as server:
        yield server.url


def description(storage_uri: str) -> dict:
    return {
        "name": NAME,
        "namespace": NAMESPACE,
        "url": f"http://{NAME}.{NAMESPACE}.example.com",
        "revision": "unused",
        "storage_uri": storage_uri,
        "model_format": "sklearn",
    }


def test_a_refused_promotion_rolls_the_service_back_to_the_champion(kube, store, served):
    champion = register_version(store, NAME, {"accuracy": 0.95})
    challenger = register_version(store, NAME, {"accuracy": 0.97})
    promote(store, NAME, champion, deployment=description(CHAMPION))
    spec = km.ServiceSpec(
        NAME, NAMESPACE, REFUSED, km.MODEL_FORMATS["sklearn"], km.Resources({"cpu": "1"})
    )
    kube.put(km.manifest(spec))  # this run's deployment, already serving
    kube.behaviour.endpoints.update({CHAMPION: served, REFUSED: served})

    with pytest.raises(ComponentInputError) as refused:
        promote_deployed(store, NAME, challenger, description(REFUSED), compared_champion="")

    message = str(refused.value)
    assert "another run promoted meanwhile" in message
    assert f"was rolled back to the champion, version {champion} ({CHAMPION})" in message
    stored = kube.stored(NAMESPACE, NAME)["spec"]["predictor"]["model"]["storageUri"]
    assert stored == CHAMPION
    assert aliases(store, NAME) == {"champion": champion}


def test_without_a_recorded_champion_deployment_the_message_says_so(kube, store):
    champion = register_version(store, NAME, {"accuracy": 0.95})
    challenger = register_version(store, NAME, {"accuracy": 0.97})
    promote(store, NAME, champion)

    with pytest.raises(ComponentInputError, match=r"still serves this run's model"):
        promote_deployed(store, NAME, challenger, description(REFUSED), compared_champion="")
    assert kube.requests == []


def test_a_registry_failure_during_promotion_rolls_the_service_back(
    kube, store, served, monkeypatch
):
    """MLflow answers 5xx when the champion alias moves: the service goes back to the champion."""
    champion = register_version(store, NAME, {"accuracy": 0.95})
    challenger = register_version(store, NAME, {"accuracy": 0.97})
    promote(store, NAME, champion, deployment=description(CHAMPION))
    spec = km.ServiceSpec(
        NAME, NAMESPACE, REFUSED, km.MODEL_FORMATS["sklearn"], km.Resources({"cpu": "1"})
    )
    kube.put(km.manifest(spec))  # this run's deployment, already serving
    kube.behaviour.endpoints.update({CHAMPION: served, REFUSED: served})
    set_alias = MlflowClient.set_registered_model_alias
    failures = [
        MlflowException(
            "API request to http://mlflow:5000/api/2.0/mlflow/registered-models/alias failed "
            "with exception HTTPError('503 Server Error: Service Unavailable')\nsecond line",
            error_code="TEMPORARILY_UNAVAILABLE",
        )
    ]

    def failing_once(self, *args, **kwargs):
        if failures:
            raise failures.pop()
        return set_alias(self, *args, **kwargs)

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", failing_once)

    with pytest.raises(ExternalSystemError) as failed:
        promote_deployed(store, NAME, challenger, description(REFUSED), compared_champion=champion)

    message = str(failed.value)
    assert "\n" not in message
    assert "503 Server Error" in message
    assert message.endswith(
        f"InferenceService {NAMESPACE}/{NAME} was rolled back to the champion, version "
        f"{champion} ({CHAMPION})"
    )
    stored = kube.stored(NAMESPACE, NAME)["spec"]["predictor"]["model"]["storageUri"]
    assert stored == CHAMPION
    assert aliases(store, NAME) == {"champion": champion}


def test_a_champion_move_whose_answer_was_lost_keeps_the_deployment(kube, store, monkeypatch):
    """MLflow moved the champion alias but its answer was lost: the service stays on it."""
    champion = register_version(store, NAME, {"accuracy": 0.95})
    challenger = register_version(store, NAME, {"accuracy": 0.97})
    promote(store, NAME, champion, deployment=description(CHAMPION))
    set_alias = MlflowClient.set_registered_model_alias

    def written_then_lost(self, name, alias, version):
        set_alias(self, name, alias, version)
        raise MlflowException("API request failed with exception 502", "TEMPORARILY_UNAVAILABLE")

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", written_then_lost)

    with pytest.raises(ExternalSystemError) as failed:
        promote_deployed(store, NAME, challenger, description(REFUSED), compared_champion=champion)

    assert str(failed.value).endswith(
        f"MLflow shows version {challenger} as the champion, so InferenceService "
        f"{NAMESPACE}/{NAME} keeps serving it"
    )
    assert kube.requests == []
    assert aliases(store, NAME)["champion"] == challenger

"""``kfp-mlops rollback``: the previous champion back in MLflow and, when it was deployed, on the
InferenceService (the fake API server), whose restored revision answers at a real model server."""

import json

import pytest
from click.testing import CliRunner
from deployment.model_dirs import fit_pipeline, write_model_dir
from support.mlflow_store import aliases, empty_store, fresh_store, register_version

from kfp_mlops.compile.cli import main
from kfp_mlops.components.common.tables import read_parquet
from kfp_mlops.components.deployment import kserve_manifest as km
from kfp_mlops.components.registry.promotion import promote
from kfp_mlops.components.serving.local_server import running_model_server

NAME = "breast-cancer"
NAMESPACE = "models"
OLD = "s3://bucket/run-1/model"
NEW = "s3://bucket/run-2/model"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store_template(tmp_path_factory):
    return empty_store(tmp_path_factory.mktemp("store"))


@pytest.fixture
def store(store_template, tmp_path) -> str:
    return fresh_store(store_template, tmp_path / "mlruns")


@pytest.fixture(scope="module")
def served(tmp_path_factory, breast_cancer_splits) -> str:
    """A KServe model server answering for the InferenceService's name."""
    train = read_parquet(breast_cancer_splits["train"]).to_pandas()
    folder = tmp_path_factory.mktemp("model") / "model"
    write_model_dir(folder, fit_pipeline(train), train)
    with running_model_server(folder, model_name=NAME) as server:
        yield server.url


def deployment(storage_uri: str) -> dict:
    return {
        "name": NAME,
        "namespace": NAMESPACE,
        "url": f"http://{NAME}.{NAMESPACE}.example.com",
        "revision": "unused",
        "storage_uri": storage_uri,
        "model_format": "sklearn",
    }


def two_champions(store: str, first_deployed: bool = True) -> None:
    first = register_version(store, NAME, {"accuracy": 0.95})
    second = register_version(store, NAME, {"accuracy": 0.97})
    promote(store, NAME, first, deployment=deployment(OLD) if first_deployed else None)
    promote(store, NAME, second, deployment=deployment(NEW))


def deployed(kube, storage_uri: str) -> None:
    spec = km.ServiceSpec(
        NAME,
        NAMESPACE,
        storage_uri,
        km.MODEL_FORMATS["sklearn"],
        km.Resources({"cpu": "1", "memory": "2Gi"}),
        service_account="models-sa",
    )
    kube.put(km.manifest(spec))


def rollback(store: str, *options: str):
    return CliRunner().invoke(main, ["rollback", NAME, "--tracking-uri", store, *options])


def storage(kube) -> str:
    return kube.stored(NAMESPACE, NAME)["spec"]["predictor"]["model"]["storageUri"]


def test_rollback_restores_the_alias_and_the_inference_service(kube, store, served):
    two_champions(store)
    deployed(kube, NEW)
    kube.behaviour.endpoints.update({OLD: served, NEW: served})

    result = rollback(store)

    assert result.exit_code == 0, result.output
    assert aliases(store, NAME) == {"champion": "1"}
    assert storage(kube) == OLD
    predictor = kube.stored(NAMESPACE, NAME)["spec"]["predictor"]
    assert predictor["serviceAccountName"] == "models-sa"  # the rest of the predictor is kept
    assert f"{NAME}: version 1 is 'champion' again (was 2)" in result.output
    assert f"revision {NAME}-predictor-00002 serves 100%" in result.output


def test_failed_restore_moves_no_alias_and_keeps_the_current_model(kube, store, served):
    two_champions(store)
    deployed(kube, NEW)
    kube.behaviour.endpoints[NEW] = served
    kube.behaviour.never_ready.add(OLD)

    result = rollback(store, "--timeout", "1")

    assert result.exit_code == 1
    assert "the new revision was not ready after 1 s" in result.output
    assert aliases(store, NAME) == {"champion": "2", "previous": "1"}
    assert storage(kube) == NEW


def test_missing_permission_is_named_and_nothing_moves(kube, store):
    two_champions(store)
    deployed(kube, NEW)
    kube.allowed.discard("patch")

    result = rollback(store)

    assert result.exit_code == 4  # a system refused (compile/exits.py), not the input
    assert "missing permission: patch inferenceservices.serving.kserve.io" in result.output
    assert aliases(store, NAME)["champion"] == "2"


def test_previous_champion_never_deployed_needs_alias_only(kube, store):
    two_champions(store, first_deployed=False)

    refused = rollback(store)
    assert refused.exit_code == 1
    assert "version 1 never was" in refused.output and "--alias-only" in refused.output
    assert aliases(store, NAME)["champion"] == "2"

    result = rollback(store, "--alias-only")
    assert result.exit_code == 0, result.output
    assert aliases(store, NAME) == {"champion": "1"}
    assert kube.requests == []


def test_local_champions_roll_back_without_a_cluster(store, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    first = register_version(store, NAME, {"accuracy": 0.95})
    second = register_version(store, NAME, {"accuracy": 0.97})
    promote(store, NAME, first)
    promote(store, NAME, second)

    result = rollback(store)

    assert result.exit_code == 0, result.output
    assert aliases(store, NAME) == {"champion": "1"}


def test_json_reports_the_rollback_and_the_restored_service(kube, store, served):
    two_champions(store)
    deployed(kube, NEW)
    kube.behaviour.endpoints.update({OLD: served, NEW: served})

    result = CliRunner().invoke(main, ["rollback", NAME, "--tracking-uri", store, "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "status": "succeeded",
        "error": None,
        "registered_model_name": NAME,
        "champion_alias": "champion",
        "champion_version": "1",
        "replaced_version": "2",
        "previous_alias": "previous",
        "previous_version": None,
        "inference_service": {
            "namespace": NAMESPACE,
            "name": NAME,
            "revision": f"{NAME}-predictor-00002",
        },
    }


def test_json_reports_a_refused_rollback_in_one_line(kube, store):
    two_champions(store, first_deployed=False)

    result = CliRunner().invoke(main, ["rollback", NAME, "--tracking-uri", store, "--json"])

    assert result.exit_code == 1
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "failed"
    assert "version 1 never was" in outcome["error"] and "\n" not in outcome["error"]
    assert aliases(store, NAME)["champion"] == "2"


def test_a_promotion_during_the_restore_is_reported_and_the_service_follows_the_champion(
    kube, store, served, monkeypatch
):
    """Another run promotes version 3 while the rollback restores version 1's deployment."""
    from kfp_mlops.components.deployment import restore

    newest = "s3://bucket/run-3/model"
    two_champions(store)
    third = register_version(store, NAME, {"accuracy": 0.98})
    deployed(kube, NEW)
    kube.behaviour.endpoints.update({OLD: served, NEW: served, newest: served})
    real_restore = restore.restore_inference_service

    def restore_then_another_promotes(*args, **kwargs):
        result = real_restore(*args, **kwargs)
        promote(store, NAME, third, deployment=deployment(newest))
        return result

    monkeypatch.setattr(restore, "restore_inference_service", restore_then_another_promotes)

    result = rollback(store)

    assert result.exit_code == 1, result.output
    message = result.output.strip().splitlines()[-1]
    assert "the 'champion' alias moved to version 3 while rolling back" in message
    assert f"InferenceService {NAMESPACE}/{NAME} had been restored to version 1" in message
    assert f"was rolled back to the champion, version 3 ({newest})" in message
    assert aliases(store, NAME) == {"champion": "3", "previous": "2"}
    assert storage(kube) == newest

"""Champion promotion and rollback: the aliases move as a chain, and rollback is one step."""

import pytest
from kfp import dsl
from mlflow import MlflowClient
from support.mlflow_store import aliases, empty_store, fresh_store, register_version

from kfp_mlops.components import registry
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.registry.promotion import (
    PREVIOUS_CHAMPION_TAG,
    ROLLED_BACK_TAG,
    apply_rollback,
    plan_rollback,
    promote,
)

NAME = "breast-cancer"
DEPLOYMENT = {
    "name": "breast-cancer",
    "namespace": "models",
    "url": "http://breast-cancer.models.example.com",
    "revision": "breast-cancer-predictor-00002",
    "storage_uri": "s3://bucket/run-2/model",
    "model_format": "sklearn",
    "traffic": [{"revisionName": "breast-cancer-predictor-00002", "percent": 100}],
}


@pytest.fixture(scope="module")
def store_template(tmp_path_factory):
    return empty_store(tmp_path_factory.mktemp("store"))


@pytest.fixture
def store(store_template, tmp_path) -> str:
    return fresh_store(store_template, tmp_path / "mlruns")


def versions(store: str, count: int) -> list[str]:
    return [register_version(store, NAME, {"accuracy": 0.9 + i / 100}) for i in range(count)]


def tags(store: str, version: str) -> dict[str, str]:
    return dict(MlflowClient(store).get_model_version(NAME, version).tags)


def test_first_promotion_has_no_previous(store):
    (first,) = versions(store, 1)

    promotion = promote(store, NAME, first, compared_champion="")

    assert (promotion.champion_version, promotion.previous_version) == ("1", None)
    assert aliases(store, NAME) == {"champion": "1"}


def test_promotion_moves_the_champion_to_previous_and_records_the_chain(store):
    first, second = versions(store, 2)
    promote(store, NAME, first)

    promotion = promote(store, NAME, second, compared_champion=first, deployment=DEPLOYMENT)

    assert (promotion.champion_version, promotion.previous_version) == ("2", "1")
    assert aliases(store, NAME) == {"champion": "2", "previous": "1"}
    recorded = tags(store, second)
    assert recorded[PREVIOUS_CHAMPION_TAG] == "1"
    assert recorded["kserve.revision"] == "breast-cancer-predictor-00002"
    assert recorded["kserve.storage_uri"] == "s3://bucket/run-2/model"
    assert "kserve.traffic" not in recorded


def test_promotion_is_refused_when_the_champion_changed_since_the_gate(store):
    first, second, third = versions(store, 3)
    promote(store, NAME, first)
    promote(store, NAME, second)  # another run won meanwhile

    with pytest.raises(ComponentInputError, match="champion of 'breast-cancer' is now version 2"):
        promote(store, NAME, third, compared_champion=first)

    assert aliases(store, NAME) == {"champion": "2", "previous": "1"}


def test_promoting_the_champion_again_changes_nothing(store):
    first, second = versions(store, 2)
    promote(store, NAME, first)
    promote(store, NAME, second)

    promotion = promote(store, NAME, second)

    assert not promotion.changed
    assert aliases(store, NAME) == {"champion": "2", "previous": "1"}


def test_rollback_restores_the_previous_and_walks_the_chain(store):
    first, second, third = versions(store, 3)
    for version in (first, second, third):
        promote(store, NAME, version)
    assert aliases(store, NAME) == {"champion": "3", "previous": "2"}

    plan = plan_rollback(store, NAME)
    apply_rollback(store, plan)

    assert (plan.current_version, plan.restored_version, plan.next_previous) == ("3", "2", "1")
    assert aliases(store, NAME) == {"champion": "2", "previous": "1"}
    assert tags(store, third)[ROLLED_BACK_TAG] == "true"

    apply_rollback(store, plan_rollback(store, NAME))
    assert aliases(store, NAME) == {"champion": "1"}
    with pytest.raises(ComponentInputError, match="no 'previous' alias: there is no earlier"):
        plan_rollback(store, NAME)


def test_rollback_plan_reads_the_deployments(store):
    first, second = versions(store, 2)
    promote(store, NAME, first, deployment={**DEPLOYMENT, "storage_uri": "s3://bucket/run-1/model"})
    promote(store, NAME, second, deployment=DEPLOYMENT)

    plan = plan_rollback(store, NAME)

    assert plan.current_deployment["storage_uri"] == "s3://bucket/run-2/model"
    assert plan.restored_deployment["storage_uri"] == "s3://bucket/run-1/model"
    assert plan.restored_deployment["namespace"] == "models"


def test_rollback_refuses_when_the_champion_moved_after_the_plan(store):
    first, second, third = versions(store, 3)
    promote(store, NAME, first)
    promote(store, NAME, second)
    plan = plan_rollback(store, NAME)
    promote(store, NAME, third)

    with pytest.raises(ComponentInputError, match="moved while rolling back; nothing changed"):
        apply_rollback(store, plan)
    assert aliases(store, NAME)["champion"] == "3"


def test_bad_input_is_named(store):
    (first,) = versions(store, 1)
    with pytest.raises(ComponentInputError, match="has no version '9'"):
        promote(store, NAME, "9")
    with pytest.raises(ComponentInputError, match="registered model 'unknown' does not exist"):
        promote(store, "unknown", first)
    with pytest.raises(ComponentInputError, match="the aliases must differ"):
        promote(store, NAME, first, champion_alias="prod", previous_alias="prod")
    with pytest.raises(ComponentInputError, match="no 'champion' alias: nothing to roll back"):
        plan_rollback(store, NAME)


def test_component_promotes_and_records_the_inference_service(store, tmp_path):
    first, second = versions(store, 2)
    promote(store, NAME, first)
    service = dsl.Artifact(uri=str(tmp_path / "service"), metadata=dict(DEPLOYMENT))

    outputs = registry.promote_champion.python_func(
        tracking_uri=store,
        registered_model_name=NAME,
        model_version=second,
        compared_champion=first,
        inference_service=service,
    )

    assert (outputs.champion_version, outputs.previous_version) == ("2", "1")
    assert tags(store, second)["kserve.name"] == "breast-cancer"

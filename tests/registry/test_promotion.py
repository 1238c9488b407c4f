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
    check_champion,
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


def test_two_concurrent_promotions_one_wins_and_the_loser_says_so(store, monkeypatch):
    """Both gates saw no champion; both read the aliases before either writes (a barrier holds
    the first reader until the second has read, or 3 s when the lock keeps the second out)."""
    import contextlib
    import threading

    from kfp_mlops.components.registry import promotion

    first, second = versions(store, 2)
    barrier = threading.Barrier(2)
    read_aliases = promotion._aliases

    def aliases_then_wait(client, name):
        found = read_aliases(client, name)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=3)
        return found

    monkeypatch.setattr(promotion, "_aliases", aliases_then_wait)
    outcomes: dict[str, object] = {}

    def run(version: str) -> None:
        try:
            outcomes[version] = promote(store, NAME, version, compared_champion="")
        except ComponentInputError as error:
            outcomes[version] = error

    threads = [threading.Thread(target=run, args=(version,)) for version in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    winners = [v for v, outcome in outcomes.items() if not isinstance(outcome, Exception)]
    losers = [outcome for outcome in outcomes.values() if isinstance(outcome, Exception)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert aliases(store, NAME) == {"champion": winners[0]}
    assert "another run promoted meanwhile" in str(losers[0])
    assert f"is now version {winners[0]}" in str(losers[0])
    registered = {model.name for model in MlflowClient(store).search_registered_models()}
    assert registered == {NAME}  # the lock is released


def test_a_lock_left_by_a_killed_step_expires(store):
    from kfp_mlops.components.registry.registry_lock import (
        EXPIRES_TAG,
        HOLDER_TAG,
        lock_name,
    )

    (first,) = versions(store, 1)
    MlflowClient(store).create_registered_model(
        lock_name(NAME), tags={HOLDER_TAG: "a killed step", EXPIRES_TAG: "0"}
    )

    assert promote(store, NAME, first, compared_champion="").champion_version == first


def test_a_held_lock_makes_the_other_promotion_wait_then_give_up(store, monkeypatch):
    import time

    from kfp_mlops.components.registry import registry_lock

    (first,) = versions(store, 1)
    MlflowClient(store).create_registered_model(
        registry_lock.lock_name(NAME),
        tags={
            registry_lock.HOLDER_TAG: "promotion of version 9 by host:1",
            registry_lock.EXPIRES_TAG: str(time.time() + 600),
        },
    )
    monkeypatch.setattr(registry_lock, "WAIT_SECONDS", 0.5)

    with pytest.raises(ComponentInputError, match=r"promotion lock of 'breast-cancer' \(promotion"):
        promote(store, NAME, first, compared_champion="")
    assert aliases(store, NAME) == {}


def test_a_promotion_cut_between_alias_moves_still_rolls_back_to_the_old_champion(
    store, monkeypatch
):
    """MLflow fails after the champion alias moved, before the previous alias did."""
    from mlflow.exceptions import MlflowException

    from kfp_mlops.components.common.errors import ExternalSystemError

    first, second, third = versions(store, 3)
    promote(store, NAME, first)
    promote(store, NAME, second)
    set_alias = MlflowClient.set_registered_model_alias
    calls = []

    def failing_second_call(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise MlflowException(
                "API request failed with exception 503", "TEMPORARILY_UNAVAILABLE"
            )
        return set_alias(self, *args, **kwargs)

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", failing_second_call)
    with pytest.raises(ExternalSystemError, match="version 3 is the champion now"):
        promote(store, NAME, third, compared_champion=second)
    monkeypatch.undo()

    plan = plan_rollback(store, NAME)

    assert (plan.current_version, plan.restored_version, plan.next_previous) == ("3", "2", "1")
    apply_rollback(store, plan)
    assert aliases(store, NAME) == {"champion": "2", "previous": "1"}


@pytest.mark.parametrize("gate_saw", ["1", ""], ids=["a-champion", "no-champion"])
def test_check_champion_refuses_a_champion_promoted_after_the_gate(store, gate_saw):
    """Another run promoted after this run's gate: refused before deploying, naming both."""
    first, second = versions(store, 2)
    if gate_saw:
        promote(store, NAME, first)
    check_champion(store, NAME, gate_saw)  # unchanged since the gate: passes
    promote(store, NAME, second)  # another run wins meanwhile

    compared = f"version {gate_saw}" if gate_saw else "no champion"
    with pytest.raises(
        ComponentInputError,
        match=f"champion of 'breast-cancer' is now version 2, but the gate compared the "
        f"challenger with {compared}: another run promoted meanwhile",
    ):
        check_champion(store, NAME, gate_saw)

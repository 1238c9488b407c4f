"""The champion/challenger gate: thresholds and the comparison with the production version."""

import math

import pytest
from kfp import dsl
from support.mlflow_store import empty_store, fresh_store, register_version

from kfp_mlops.components import evaluation
from kfp_mlops.components.common.errors import ComponentInputError, ExternalSystemError
from kfp_mlops.components.common.mlflow_registry import RegisteredVersion
from kfp_mlops.components.evaluation.champion import (
    champion_gate_to_markdown,
    decide_against_champion,
)

NAME = "breast-cancer"
THRESHOLDS = {"accuracy": 0.9, "roc_auc": 0.9}
CHAMPION_METRICS = {"accuracy": 0.97, "roc_auc": 0.99, "f1": 0.98, "log_loss": 0.08}


@pytest.fixture(scope="module")
def store_template(tmp_path_factory) -> object:
    return empty_store(tmp_path_factory.mktemp("store"))


@pytest.fixture
def tracking_uri(store_template, tmp_path) -> str:
    return fresh_store(store_template, tmp_path / "mlruns")


def champion(metrics=None, version="3", tags=None) -> RegisteredVersion:
    return RegisteredVersion(
        name=NAME,
        version=version,
        model_uri=f"models:/{NAME}/{version}",
        run_id="run",
        aliases=["champion"],
        tags=tags or {},
        metrics=dict(CHAMPION_METRICS if metrics is None else metrics),
    )


def decide(challenger, thresholds=THRESHOLDS, current=None, **options):
    return decide_against_champion(challenger, thresholds, current, NAME, "champion", **options)


def test_no_champion_means_the_thresholds_alone_decide_and_the_report_says_so():
    decision = decide({"accuracy": 0.91, "roc_auc": 0.92})

    assert decision.approved
    assert decision.champion_version == ""
    assert decision.reasons[-1] == (
        f"no champion: registered model '{NAME}' has no version with alias 'champion'; the "
        "absolute thresholds alone decide"
    )
    assert "absolute thresholds alone decide" in decision.to_markdown()


def test_challenger_within_the_margin_is_approved():
    # 0.95 is 2.06 % below 0.97; roc_auc 0.96 is 3.03 % below 0.99: both within 5 %.
    decision = decide({"accuracy": 0.95, "roc_auc": 0.96}, current=champion())

    assert decision.approved
    assert decision.champion_version == "3"
    assert (
        "accuracy 0.9500 is 2.06% worse than champion version 3's 0.9700: within the 5.00% margin "
        "(must be >= 0.9215)" in decision.reasons
    )


def test_challenger_further_below_than_the_margin_is_rejected_naming_metric_and_margin():
    # Passes every threshold, but roc_auc is 7 % below the champion's.
    decision = decide({"accuracy": 0.96, "roc_auc": 0.92}, current=champion())

    assert not decision.approved
    assert decision.absolute.approved
    (failed,) = [item for item in decision.comparisons if not item.passed]
    assert failed.metric == "roc_auc"
    assert failed.reason == (
        "roc_auc 0.9200 is 7.07% worse than champion version 3's 0.9900: outside the 5.00% "
        "margin (must be >= 0.9405)"
    )
    report = decision.to_markdown()
    assert report.startswith("# Champion/challenger gate: NOT APPROVED")
    assert "| roc_auc | 0.9900 | 0.9200 | >= 0.9405 | **FAIL** |" in report
    assert "fall no more than 5.00% below the champion" in report


def test_a_wider_margin_lets_it_through():
    assert decide(
        {"accuracy": 0.96, "roc_auc": 0.92}, current=champion(), relative_margin=0.1
    ).approved


def test_min_improvement_requires_beating_the_champion():
    better = {"accuracy": 0.985, "roc_auc": 0.995}
    assert not decide(better, current=champion(), min_improvement=0.01).approved
    decision = decide({"accuracy": 0.99, "roc_auc": 1.0}, current=champion(), min_improvement=0.01)
    assert decision.approved
    assert any("within the required improvement of 0.01" in reason for reason in decision.reasons)
    assert "beat the champion by at least 0.01" in decision.to_markdown()


def test_lower_is_better_metrics_are_compared_the_other_way():
    thresholds = {"log_loss": 0.5}
    assert decide({"log_loss": 0.083}, thresholds, champion()).approved  # 3.75 % worse: within
    decision = decide({"log_loss": 0.09}, thresholds, champion())  # 12.5 % worse
    assert not decision.approved
    assert "log_loss 0.0900 is 12.50% worse than champion" in decision.reasons[-1]
    assert "(must be <= 0.0840)" in decision.reasons[-1]
    assert decide({"log_loss": 0.05}, thresholds, champion(), min_improvement=0.02).approved


def test_failing_a_threshold_rejects_even_a_better_challenger():
    decision = decide({"accuracy": 0.99, "roc_auc": 0.99}, {"accuracy": 0.995}, champion())
    assert not decision.approved
    assert all(item.passed for item in decision.comparisons)


@pytest.mark.parametrize("value", [None, math.nan])
def test_champion_without_the_metric_fails_closed(value):
    metrics = {key: val for key, val in CHAMPION_METRICS.items() if key != "roc_auc"}
    if value is not None:
        metrics["roc_auc"] = value
    decision = decide({"accuracy": 0.99, "roc_auc": 0.99}, current=champion(metrics))
    assert not decision.approved
    assert "roc_auc: the champion (version 3) has" in decision.reasons[-1]


def test_no_thresholds_approve_nothing_even_with_a_champion():
    assert not decide({"accuracy": 0.99}, {}, champion()).approved


def test_different_test_sets_are_noted():
    decision = decide(
        {"accuracy": 0.97, "roc_auc": 0.99, "test_fingerprint": "sha256:aaa"},
        current=champion(tags={"dataset.test.fingerprint": "sha256:bbb"}),
    )
    assert decision.approved
    assert "measured on another test set" in decision.reasons[-1]


@pytest.mark.parametrize(("margin", "improvement"), [(-0.1, 0.0), (1.0, 0.0), (0.05, -1.0)])
def test_malformed_rule_is_an_input_error(margin, improvement):
    with pytest.raises(ComponentInputError):
        decide(
            {"accuracy": 0.95}, current=None, relative_margin=margin, min_improvement=improvement
        )


def test_champion_is_read_from_mlflow(tracking_uri, tmp_path):
    register_version(tracking_uri, NAME, {"accuracy": 0.90, "roc_auc": 0.91}, alias="previous")
    version = register_version(tracking_uri, NAME, CHAMPION_METRICS, alias="champion")
    register_version(tracking_uri, NAME, {"accuracy": 0.5, "roc_auc": 0.5}, alias="challenger")

    decision = champion_gate_to_markdown(
        {"accuracy": 0.96, "roc_auc": 0.92},
        str(tmp_path / "decision.md"),
        THRESHOLDS,
        tracking_uri,
        NAME,
    )

    assert decision.champion_version == version == "2"
    assert not decision.approved
    assert (tmp_path / "decision.md").read_text() == decision.to_markdown()


def test_unreachable_mlflow_fails_the_step(tmp_path, unused_port, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with pytest.raises(ExternalSystemError, match="cannot use MLflow tracking URI"):
        champion_gate_to_markdown(
            {"accuracy": 0.96},
            str(tmp_path / "decision.md"),
            THRESHOLDS,
            f"http://127.0.0.1:{unused_port}",
            NAME,
        )
    assert not (tmp_path / "decision.md").exists()


def test_component_outputs_decision_reasons_and_champion(tracking_uri, tmp_path):
    register_version(tracking_uri, NAME, CHAMPION_METRICS, alias="champion")
    metrics = dsl.Metrics(uri=str(tmp_path / "metrics"))
    metrics.metadata.update({"accuracy": 0.975, "roc_auc": 0.99, "test_rows": 85.0})
    decision = dsl.Markdown(uri=str(tmp_path / "decision"))

    outputs = evaluation.champion_challenger_gate.python_func(
        metrics=metrics,
        tracking_uri=tracking_uri,
        registered_model_name=NAME,
        decision=decision,
        thresholds=THRESHOLDS,
    )

    assert outputs.approved is True
    assert outputs.champion_version == "1"
    assert outputs.reasons == decision.metadata["reasons"]
    assert decision.metadata["approved"] is True
    assert "APPROVED" in (tmp_path / "decision").read_text()

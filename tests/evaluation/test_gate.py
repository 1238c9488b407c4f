"""The metric gate: minimums and maximums, margins, and failing closed."""

import math

import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.evaluation.gate import NO_THRESHOLDS, decide, gate_to_markdown

METRICS = {
    "accuracy": 0.9561,
    "f1": 0.9652,
    "roc_auc": 0.99,
    "log_loss": 0.12,
    "averaging": "binary, positive class 1",
    "test_rows": 86,
    "test_fingerprint": "sha256:abc",
}


def test_every_threshold_met_approves_with_the_margin_in_each_reason():
    decision = decide(METRICS, {"accuracy": 0.90, "f1": 0.85})
    assert decision.approved
    assert decision.reasons == [
        "accuracy 0.9561 >= 0.9000 (passed by 0.0561)",
        "f1 0.9652 >= 0.8500 (passed by 0.1152)",
    ]
    assert [check.margin for check in decision.checks] == pytest.approx([0.0561, 0.1152])


def test_one_threshold_missed_rejects_and_says_by_how_much():
    decision = decide(METRICS, {"accuracy": 0.999, "f1": 0.85})
    assert not decision.approved
    assert decision.reasons[0] == "accuracy 0.9561 < 0.9990 (failed by 0.0429)"
    assert decision.checks[0].margin == pytest.approx(-0.0429)
    assert decision.checks[1].passed


def test_equal_to_the_threshold_passes():
    assert decide({"accuracy": 0.9}, {"accuracy": 0.9}).approved


def test_log_loss_threshold_is_a_maximum():
    passed = decide(METRICS, {"log_loss": 0.3})
    assert passed.approved
    assert passed.reasons == ["log_loss 0.1200 <= 0.3000 (passed by 0.1800)"]
    failed = decide(METRICS, {"log_loss": 0.1})
    assert not failed.approved
    assert failed.reasons == ["log_loss 0.1200 > 0.1000 (failed by 0.0200)"]


def test_no_thresholds_approves_nothing():
    decision = decide(METRICS, {})
    assert not decision.approved
    assert decision.reasons == [NO_THRESHOLDS]
    assert "no thresholds given: nothing to approve against" in decision.to_markdown()


def test_a_metric_the_artifact_lacks_fails_and_lists_the_known_metrics():
    decision = decide(METRICS, {"accuracy": 0.9, "auc": 0.9})
    assert not decision.approved
    reason = decision.reasons[1]
    assert reason.startswith("auc is not in the metrics artifact (did you mean 'roc_auc'?)")
    assert "known metrics: accuracy, f1, log_loss, roc_auc, test_rows" in reason
    assert "averaging" not in reason and "test_fingerprint" not in reason


def test_a_metric_that_is_not_a_number_fails():
    decision = decide({"roc_auc": math.nan}, {"roc_auc": 0.5})
    assert not decision.approved
    assert decision.reasons == ["roc_auc is nan, not a finite number: cannot be >= 0.5000"]


def test_numeric_lineage_entries_can_be_gated_too():
    assert decide(METRICS, {"test_rows": 50}).approved
    assert not decide(METRICS, {"test_rows": 100}).approved


@pytest.mark.parametrize("value", ["0.9", None, True, math.inf, [0.9]])
def test_a_malformed_threshold_is_an_input_error_not_a_silent_rejection(value):
    with pytest.raises(ComponentInputError, match=r"threshold 'accuracy' is .* must be a finite"):
        decide(METRICS, {"accuracy": value})


def test_markdown_has_the_decision_and_a_row_per_threshold(tmp_path):
    path = tmp_path / "decision.md"
    decision = gate_to_markdown(METRICS, str(path), {"accuracy": 0.999, "log_loss": 0.3, "auc": 1})
    markdown = path.read_text()
    assert markdown == decision.to_markdown()
    assert markdown.startswith("# Metric gate: NOT APPROVED\n")
    assert "2 of 3 threshold(s) failed." in markdown
    assert "| metric | threshold | observed | margin | result |" in markdown
    assert "| accuracy | >= 0.9990 | 0.9561 | -0.0429 | **FAIL** |" in markdown
    assert "| log_loss | <= 0.3000 | 0.1200 | +0.1800 | pass |" in markdown
    assert "| auc | >= 1.0000 | missing |  | **FAIL** |" in markdown
    assert "- accuracy 0.9561 < 0.9990 (failed by 0.0429)" in markdown


def test_approved_markdown(tmp_path):
    gate_to_markdown(METRICS, str(tmp_path / "decision.md"), {"accuracy": 0.9})
    markdown = (tmp_path / "decision.md").read_text()
    assert markdown.startswith("# Metric gate: APPROVED\n")
    assert "All 1 threshold(s) met." in markdown

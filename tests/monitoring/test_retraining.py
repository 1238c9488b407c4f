"""The retraining decision: drift or degradation retrains; the record when nothing does."""

from pathlib import Path

from kfp_mlops.components.monitoring.retraining import (
    decide,
    decide_to_markdown,
    record_no_retraining_to_markdown,
)


def test_drift_alone_retrains():
    decision = decide(True, ["x: drift: PSI 1.2"], False, ["accuracy within tolerance"])

    assert decision.retrain is True
    assert decision.reasons == [
        "retrain: data drifted",
        "drift: x: drift: PSI 1.2",
        "quality: accuracy within tolerance",
    ]


def test_degradation_alone_retrains_and_both_are_named():
    assert decide(False, [], True, ["accuracy degraded"]).reasons[0] == "retrain: quality degraded"
    assert decide(True, [], True, []).reasons[0] == "retrain: data drifted and quality degraded"


def test_neither_keeps_the_model(tmp_path: Path):
    path = tmp_path / "decision.md"
    decision = decide_to_markdown(False, ["no drift in 3 features"], False, ["no champion"], path)

    assert decision.retrain is False
    assert decision.reasons[0] == "no retraining: no data drift and no quality degradation"
    text = path.read_text()
    assert text.startswith("# Retraining: no\n")
    assert "- no drift in 3 features" in text and "- no champion" in text


def test_no_retraining_record(tmp_path: Path):
    path = tmp_path / "record.md"
    metadata = record_no_retraining_to_markdown(["no retraining: nothing moved"], path)

    assert metadata == {"retrained": False, "reasons": ["no retraining: nothing moved"]}
    assert path.read_text() == (
        "# Model kept\n\nThe monitoring checks found no reason to retrain.\n\n"
        "- no retraining: nothing moved\n"
    )

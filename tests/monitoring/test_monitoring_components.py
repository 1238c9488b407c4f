"""The monitoring components through their python_func, with KFP artifact objects."""

import json
from pathlib import Path

import pytest
from kfp import dsl
from support.monitoring_data import SHIFTED

from kfp_mlops.components import monitoring


def artifact(kind: type, folder: Path, name: str) -> object:
    return kind(uri=str(folder / name))


def test_detect_drift_writes_metrics_and_report_and_decides(monitoring_files, tmp_path: Path):
    metrics = artifact(dsl.Metrics, tmp_path, "metrics")
    report = artifact(dsl.HTML, tmp_path, "report")
    outputs = monitoring.detect_drift.python_func(
        reference=dsl.Dataset(uri=str(monitoring_files["reference"])),
        current=dsl.Dataset(uri=str(monitoring_files["shifted"])),
        drift_metrics=metrics,
        report=report,
        target_column="target",
    )

    assert outputs.drift_detected is True
    assert sorted(outputs.drifted_features) == sorted(SHIFTED)
    assert len(outputs.reasons) >= 2
    assert metrics.metadata["features_compared"] == 30.0
    assert metrics.metadata["psi.mean radius"] >= 0.2
    assert 0 <= metrics.metadata["ks_pvalue.worst texture"] < 1e-6
    assert "psi.target" not in metrics.metadata
    stored = json.loads(Path(metrics.path).read_text())
    assert stored["drifted_features"] == outputs.drifted_features
    assert Path(report.path).read_text().startswith("<!DOCTYPE html>")
    assert report.metadata == {
        "drift_detected": True,
        "drifted_features": outputs.drifted_features,
    }


def test_detect_drift_on_held_out_rows_finds_none(monitoring_files, tmp_path: Path):
    outputs = monitoring.detect_drift.python_func(
        reference=dsl.Dataset(uri=str(monitoring_files["reference"])),
        current=dsl.Dataset(uri=str(monitoring_files["held_out"])),
        drift_metrics=artifact(dsl.Metrics, tmp_path, "metrics"),
        report=artifact(dsl.HTML, tmp_path, "report"),
        target_column="target",
        feature_columns=["mean radius", "mean texture", "target"],
    )

    assert outputs.drift_detected is False and outputs.drifted_features == []


def test_detect_drift_failure_leaves_no_output(monitoring_files, tmp_path: Path):
    from kfp_mlops.components.common.errors import ComponentInputError

    metrics = artifact(dsl.Metrics, tmp_path, "metrics")
    report = artifact(dsl.HTML, tmp_path, "report")
    with pytest.raises(ComponentInputError, match="feature column 'nope'"):
        monitoring.detect_drift.python_func(
            reference=dsl.Dataset(uri=str(monitoring_files["reference"])),
            current=dsl.Dataset(uri=str(monitoring_files["held_out"])),
            drift_metrics=metrics,
            report=report,
            feature_columns=["nope"],
        )
    assert not Path(metrics.path).exists() and not Path(report.path).exists()


@pytest.mark.slow
def test_check_model_quality_flags_the_degraded_champion(champion, mislabelled, tmp_path: Path):
    tracking_uri, _ = champion
    metrics = artifact(dsl.Metrics, tmp_path, "metrics")
    report = artifact(dsl.Markdown, tmp_path, "report")
    outputs = monitoring.check_model_quality.python_func(
        labelled=dsl.Dataset(uri=mislabelled),
        target_column="target",
        tracking_uri=tracking_uri,
        registered_model_name="clf",
        quality_metrics=metrics,
        report=report,
    )

    assert outputs.degraded is True and outputs.champion_version == "1"
    assert outputs.reasons[0].endswith("degraded beyond 5%")
    assert {"current.accuracy", "recorded.accuracy", "labelled_rows"} <= set(metrics.metadata)
    assert report.metadata == {"degraded": True, "champion_version": "1"}
    assert Path(report.path).read_text().startswith("# Model quality: DEGRADED")


def test_decide_retraining_and_the_no_retraining_record(tmp_path: Path):
    decision = artifact(dsl.Markdown, tmp_path, "decision")
    outputs = monitoring.decide_retraining.python_func(
        drift_detected=False,
        drift_reasons=["no drift in 30 features"],
        quality_degraded=False,
        quality_reasons=["no champion"],
        decision=decision,
    )
    assert outputs.retrain is False
    assert decision.metadata["retrain"] is False

    record = artifact(dsl.Markdown, tmp_path, "record")
    monitoring.record_no_retraining.python_func(reasons=outputs.reasons, record=record)
    assert record.metadata == {"retrained": False, "reasons": outputs.reasons}
    assert Path(record.path).read_text().startswith("# Model kept")

"""Model quality: the champion scored on newly labelled data against its recorded metrics."""

from pathlib import Path

import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.monitoring.quality import (
    check_quality,
    check_quality_to_files,
    compare_metric,
    compare_with_champion,
)


def test_a_drop_beyond_the_share_degrades_and_one_within_does_not():
    assert compare_metric("accuracy", 0.96, 0.90, 0.05).degraded is True  # -6.25 %
    kept = compare_metric("accuracy", 0.96, 0.913, 0.05)
    assert kept.degraded is False
    assert kept.reason == "accuracy 0.9130 vs 0.9600 recorded (-4.9%): within tolerance"


def test_exactly_the_share_is_not_beyond_it():
    assert compare_metric("f1", 0.8, 0.8 * 0.95, 0.05).degraded is False


def test_log_loss_degrades_upwards():
    assert compare_metric("log_loss", 0.20, 0.22, 0.05).degraded is True
    assert compare_metric("log_loss", 0.20, 0.15, 0.05).degraded is False
    assert compare_metric("log_loss", 0.20, 0.22, 0.05).change == pytest.approx(0.1)


def test_metrics_the_champion_did_not_record_are_skipped_and_named():
    current = {"accuracy": 0.9, "f1": 0.8, "roc_auc": 0.95}
    comparisons, skipped = compare_with_champion(
        current, {"accuracy": 0.95}, ["accuracy", "roc_auc"], 0.05
    )

    assert [item.name for item in comparisons] == ["accuracy"]
    assert skipped == ["roc_auc: not recorded for the champion, not compared"]


def test_a_champion_with_none_of_the_metrics_fails_closed():
    with pytest.raises(ComponentInputError, match="recorded none of the watched metrics"):
        compare_with_champion({"accuracy": 0.9}, {"loss": 0.1}, ["accuracy"], 0.05)


def test_an_unknown_metric_is_refused():
    with pytest.raises(ComponentInputError, match=r"metric\(s\) \['auc'\] cannot be watched"):
        compare_with_champion({"accuracy": 0.9}, {"accuracy": 0.9}, ["auc"], 0.05)


@pytest.mark.slow
def test_the_champion_on_its_own_test_split_matches_its_record(champion, breast_cancer_splits):
    tracking_uri, recorded = champion
    result = check_quality(breast_cancer_splits["test"], "target", tracking_uri, "clf")

    assert result.champion.version == "1" and "champion" in result.champion.aliases
    assert result.degraded is False
    assert [item.name for item in result.comparisons] == ["accuracy", "f1", "roc_auc"]
    for item in result.comparisons:
        assert item.current == pytest.approx(recorded[item.name])
        assert item.change == pytest.approx(0.0, abs=1e-12)


@pytest.mark.slow
def test_new_labels_the_champion_misses_degrade_it(champion, mislabelled, tmp_path: Path):
    tracking_uri, recorded = champion
    result = check_quality_to_files(
        mislabelled,
        "target",
        tracking_uri,
        "clf",
        str(tmp_path / "metrics.json"),
        str(tmp_path / "report.md"),
        metric_names=["accuracy", "log_loss"],
    )

    assert result.degraded is True
    assert result.reasons[0].startswith("accuracy ")
    assert result.reasons[0].endswith("degraded beyond 5%")
    assert result.current["accuracy"] < recorded["accuracy"] * 0.95
    metrics = result.metrics()
    assert metrics["recorded.accuracy"] == pytest.approx(recorded["accuracy"])
    assert metrics["labelled_rows"] == float(result.rows)
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("# Model quality: DEGRADED")
    assert "| accuracy |" in report and "| yes |" in report


@pytest.mark.slow
def test_without_a_champion_nothing_is_compared(champion, breast_cancer_splits):
    tracking_uri, _ = champion
    result = check_quality(
        breast_cancer_splits["test"], "target", tracking_uri, "clf", alias="production"
    )

    assert result.champion is None and result.degraded is False
    assert result.reasons == [
        "registered model 'clf' has no version with alias 'production': no champion to compare"
    ]
    assert result.to_markdown(0.05).startswith("# Model quality: no champion")


def test_labelled_data_without_the_target_is_refused(breast_cancer_splits, tmp_path: Path):
    with pytest.raises(ComponentInputError, match="target column 'label' not found"):
        check_quality(breast_cancer_splits["test"], "label", f"sqlite:///{tmp_path}/m.db", "clf")


@pytest.mark.parametrize(
    ("options", "message"),
    [({"metric_names": []}, "metric_names is empty"), ({"max_degradation": 1.5}, "max_degrad")],
)
def test_bad_settings_are_refused(breast_cancer_splits, tmp_path: Path, options, message):
    with pytest.raises(ComponentInputError, match=message):
        check_quality(
            breast_cancer_splits["test"], "target", f"sqlite:///{tmp_path}/m.db", "clf", **options
        )

"""The model card: one page with the data, metrics against thresholds and champion, the confusion
matrix and ROC curve, the gate's decision and the lineage; stored with the version in MLflow."""

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from mlflow import MlflowClient
from support.mlflow_store import register_version

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.registry.card_charts import roc_curve_svg
from kfp_mlops.components.registry.model_card_page import (
    CARD_ARTIFACT,
    CARD_TAG,
    CardInputs,
    write_model_card,
)

NAME = "card-model"
CLASSIFICATION = {
    "confusionMatrix": {
        "annotationSpecs": [{"displayName": "0"}, {"displayName": "1"}],
        "rows": [{"row": [31, 1]}, {"row": [2, 51]}],
    },
    "confidenceMetrics": [
        {"confidenceThreshold": 1.0, "recall": 0.0, "falsePositiveRate": 0.0},
        {"confidenceThreshold": 0.7, "recall": 0.9, "falsePositiveRate": 0.03},
        {"confidenceThreshold": 0.0, "recall": 1.0, "falsePositiveRate": 1.0},
    ],
}


def card_inputs(version: str, run_id: str, champion_version: str = "") -> CardInputs:
    return CardInputs(
        data_uri="/data/breast_cancer.csv",
        train={
            "rows": 398,
            "schema": [{"name": "a"}, {"name": "target"}],
            "fingerprint": "sha256:t",
        },
        test={"rows": 85, "schema": [{"name": "a"}, {"name": "target"}], "fingerprint": "sha256:e"},
        metrics={"accuracy": 0.9647, "f1": 0.9714, "roc_auc": 0.995, "log_loss": 0.09},
        classification=CLASSIFICATION,
        decision={
            "approved": True,
            "reasons": ["accuracy 0.9647 >= 0.9000 (passed by 0.0647)"],
            "champion_version": champion_version,
        },
        thresholds={"accuracy": 0.9, "log_loss": 0.05},
        registered_model_name=NAME,
        model_version=version,
        run_id=run_id,
        kfp_run_id="run-123",
    )


def artifacts_in(tracking_uri: str, folder: Path) -> None:
    """The versions' runs keep their artifacts in ``folder`` (not ./mlruns)."""
    MlflowClient(tracking_uri).create_experiment("tests", artifact_location=folder.as_uri())


def test_the_card_is_stored_with_the_version_and_written_locally(tracking_uri: str, tmp_path: Path):
    artifacts_in(tracking_uri, tmp_path / "artifacts")
    champion = register_version(
        tracking_uri, NAME, {"accuracy": 0.95, "f1": 0.96}, alias="champion"
    )
    version = register_version(tracking_uri, NAME, {"accuracy": 0.9647})
    client = MlflowClient(tracking_uri)
    run_id = client.get_model_version(NAME, version).run_id
    card_path = tmp_path / "card.html"

    uri = write_model_card(card_inputs(version, run_id, champion), tracking_uri, str(card_path))

    page = card_path.read_text(encoding="utf-8")
    assert uri == f"runs:/{run_id}/{CARD_ARTIFACT}"
    stored = Path(client.download_artifacts(run_id, CARD_ARTIFACT, str(tmp_path / "dl")))
    assert stored.read_text(encoding="utf-8") == page
    assert client.get_model_version(NAME, version).tags[CARD_TAG] == CARD_ARTIFACT
    # Data, metrics against thresholds and the champion's, the decision and the lineage.
    assert "/data/breast_cancer.csv" in page and "sha256:t" in page and "sha256:e" in page
    assert "passed (&gt;= 0.9)" in page
    assert "failed (&lt;= 0.05)" in page  # log_loss 0.09 above its maximum
    assert f"champion (version {champion})" in page and "0.9500" in page
    assert "Gate: APPROVED" in page and "accuracy 0.9647 &gt;= 0.9000" in page
    assert "run-123" in page and f"models:/{NAME}/{version}" in page
    assert "<script" not in page and "src=" not in page and "<link" not in page
    # The confusion matrix's counts, actual classes as rows.
    assert ">31</td>" in page and ">51</td>" in page


def test_a_run_that_did_not_log_the_version_fails_and_writes_nothing(
    tracking_uri: str, tmp_path: Path
):
    artifacts_in(tracking_uri, tmp_path / "artifacts")
    version = register_version(tracking_uri, NAME, {"accuracy": 0.96})
    other = register_version(tracking_uri, NAME, {"accuracy": 0.97})
    other_run = MlflowClient(tracking_uri).get_model_version(NAME, other).run_id
    card_path = tmp_path / "card.html"

    with pytest.raises(ComponentInputError, match=f"version {NAME!r} {version} was logged by run"):
        write_model_card(card_inputs(version, other_run), tracking_uri, str(card_path))
    assert not card_path.exists()


def test_the_roc_curve_has_axes_and_goes_through_every_point():
    svg = ElementTree.fromstring(roc_curve_svg(CLASSIFICATION, 0.995))
    ns = "{http://www.w3.org/2000/svg}"
    labels = [t.text for t in svg.iter(f"{ns}text")]
    assert "false positive rate" in labels and "true positive rate" in labels
    assert "ROC (AUC 0.995)" in labels
    curve = svg.find(f"{ns}polyline[@class='curve']").get("points").split()
    assert len(curve) == 3
    assert curve[0] == "48.0,252.0" and curve[-1] == "288.0,12.0"  # (0, 0) and (1, 1)

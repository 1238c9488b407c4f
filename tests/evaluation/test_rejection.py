"""The record of a rejected model."""

from kfp_mlops.components.evaluation.rejection import record_rejection_to_markdown


def test_rejection_record_lists_reasons_and_metrics(tmp_path):
    path = tmp_path / "rejection.md"
    reasons = ["accuracy 0.9561 < 0.9990 (failed by 0.0429)", "auc is not in the metrics artifact"]
    metadata = record_rejection_to_markdown(
        {"accuracy": 0.95614, "test_rows": 86, "test_fingerprint": "sha256:abc"}, reasons, str(path)
    )
    assert metadata == {"approved": False, "reasons": reasons}
    markdown = path.read_text()
    assert markdown.startswith("# Model not approved\n")
    assert "- accuracy 0.9561 < 0.9990 (failed by 0.0429)\n" in markdown
    assert "- auc is not in the metrics artifact\n" in markdown
    assert "| accuracy | 0.9561 |" in markdown
    assert "| test_rows | 86 |" in markdown
    assert "| test_fingerprint | sha256:abc |" in markdown


def test_rejection_without_reasons_or_metrics_still_says_so(tmp_path):
    path = tmp_path / "rejection.md"
    record_rejection_to_markdown({}, [], str(path))
    markdown = path.read_text()
    assert "- (the gate gave no reason)" in markdown
    assert "The metrics artifact holds no metrics." in markdown

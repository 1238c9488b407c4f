"""evaluate_classifier, metric_gate and record_rejection: called directly and run by kfp.local."""

import json
from pathlib import Path

import pyarrow as pa
import pytest
from kfp import dsl
from kfp.dsl import ClassificationMetrics, Dataset, Markdown, Metrics, Model
from sklearn.datasets import load_iris

from kfp_mlops.components import evaluation, training
from kfp_mlops.components.common.tables import read_parquet, write_parquet
from kfp_mlops.components.data.split import split_to_parquet
from kfp_mlops.components.training.train import train_to_directory

from .conftest import tasks_run


def evaluate(model_dir: Path, test_path: str, folder: Path) -> tuple:
    """Runs evaluate_classifier's function; returns its outputs and both artifacts."""
    metrics = Metrics(uri=str(folder / "metrics"))
    classification = ClassificationMetrics(uri=str(folder / "classification_metrics"))
    outputs = evaluation.evaluate_classifier.python_func(
        model=Model(uri=str(model_dir)),
        test=Dataset(uri=test_path),
        target_column="target",
        metrics=metrics,
        classification_metrics=classification,
    )
    return outputs, metrics, classification


def test_evaluate_classifier_logs_metrics_and_writes_the_same_content(
    forest_model, breast_cancer_splits, tmp_path
):
    outputs, metrics, classification = evaluate(
        forest_model, breast_cancer_splits["test"], tmp_path
    )
    assert outputs.accuracy >= 0.90
    assert outputs._fields == ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
    for name in outputs._fields:
        assert metrics.metadata[name] == getattr(outputs, name)
    rows = read_parquet(breast_cancer_splits["test"]).num_rows
    assert metrics.metadata["test_rows"] == rows
    assert metrics.metadata["test_fingerprint"].startswith("sha256:")
    # The files hold exactly what KFP's logging methods put in the metadata.
    assert json.loads(Path(metrics.path).read_text()) == metrics.metadata
    assert json.loads(Path(classification.path).read_text()) == classification.metadata
    assert 2 <= len(classification.metadata["confidenceMetrics"]) <= 200
    matrix = classification.metadata["confusionMatrix"]
    assert sum(sum(row["row"]) for row in matrix["rows"]) == rows


def test_multiclass_evaluation_has_a_confusion_matrix_and_no_roc_curve(tmp_path):
    source = tmp_path / "iris.parquet"
    write_parquet(pa.Table.from_pandas(load_iris(as_frame=True).frame), source)
    paths = {name: str(tmp_path / f"{name}.parquet") for name in ("train", "validation", "test")}
    split_to_parquet(str(source), paths, "target")
    train_to_directory(paths["train"], str(tmp_path / "model"), "target", "logistic_regression")
    outputs, metrics, classification = evaluate(tmp_path / "model", paths["test"], tmp_path)
    assert outputs.accuracy >= 0.85
    assert metrics.metadata["averaging"] == "macro (one-vs-rest ROC AUC)"
    assert "confidenceMetrics" not in classification.metadata
    assert len(classification.metadata["confusionMatrix"]["rows"]) == 3
    assert json.loads(Path(classification.path).read_text()) == classification.metadata


def test_default_thresholds_approve_the_random_forest(forest_model, breast_cancer_splits, tmp_path):
    _, metrics, _ = evaluate(forest_model, breast_cancer_splits["test"], tmp_path)
    decision = Markdown(uri=str(tmp_path / "decision"))
    approved, reasons = evaluation.metric_gate.python_func(metrics=metrics, decision=decision)
    assert approved is True
    assert [reason.split()[0] for reason in reasons] == ["accuracy", "f1"]
    assert all("passed by" in reason for reason in reasons)
    assert decision.metadata == {"approved": True, "reasons": reasons}
    assert Path(decision.path).read_text().startswith("# Metric gate: APPROVED")


def test_weak_challenger_is_rejected_and_the_rejection_recorded(
    stump_model, breast_cancer_splits, tmp_path
):
    _, metrics, _ = evaluate(stump_model, breast_cancer_splits["test"], tmp_path)
    decision = Markdown(uri=str(tmp_path / "decision"))
    approved, reasons = evaluation.metric_gate.python_func(
        metrics=metrics, decision=decision, thresholds={"accuracy": 0.97, "roc_auc": 0.97}
    )
    assert approved is False
    assert any("failed by" in reason for reason in reasons)
    rejection = Markdown(uri=str(tmp_path / "rejection"))
    evaluation.record_rejection.python_func(metrics=metrics, reasons=reasons, rejection=rejection)
    assert rejection.metadata == {"approved": False, "reasons": reasons}
    text = Path(rejection.path).read_text()
    assert all(f"- {reason}\n" in text for reason in reasons)


def test_empty_thresholds_through_the_component_are_not_approved(tmp_path):
    metrics = Metrics(uri=str(tmp_path / "metrics"))
    metrics.log_metric("accuracy", 1.0)
    approved, reasons = evaluation.metric_gate.python_func(
        metrics=metrics, decision=Markdown(uri=str(tmp_path / "decision")), thresholds={}
    )
    assert (approved, reasons) == (False, ["no thresholds given: nothing to approve against"])


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def mark_approved(metrics: dsl.Input[Metrics]) -> str:
    """Stands in for the steps a pipeline runs once its gate approves."""
    return f"approved at accuracy {metrics.metadata['accuracy']:.4f}"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:You may be attemping to run a task:RuntimeWarning")
@pytest.mark.parametrize(
    ("accuracy", "branch"), [(0.9, "mark-approved"), (0.999, "record-rejection")]
)
def test_gate_branches_in_kfp_local(local_runner, breast_cancer_splits, accuracy, branch):
    @dsl.pipeline
    def train_evaluate_gate(train_uri: str, test_uri: str, thresholds: dict):
        train = dsl.importer(artifact_uri=train_uri, artifact_class=Dataset)
        test = dsl.importer(artifact_uri=test_uri, artifact_class=Dataset)
        model = training.train_sklearn(train=train.output, target_column="target")
        scores = evaluation.evaluate_classifier(
            model=model.outputs["model"], test=test.output, target_column="target"
        )
        gate = evaluation.metric_gate(metrics=scores.outputs["metrics"], thresholds=thresholds)
        with dsl.If(gate.outputs["approved"] == True):  # noqa: E712 (a KFP condition)
            mark_approved(metrics=scores.outputs["metrics"])
        with dsl.Else():
            evaluation.record_rejection(
                metrics=scores.outputs["metrics"], reasons=gate.outputs["reasons"]
            )

    train_evaluate_gate(
        train_uri=breast_cancer_splits["train"],
        test_uri=breast_cancer_splits["test"],
        thresholds={"accuracy": accuracy},
    )
    tasks = tasks_run(local_runner)
    assert {"train-sklearn", "evaluate-classifier", "metric-gate", branch} <= set(tasks)
    assert not {"mark-approved", "record-rejection"} - {branch} & set(tasks)
    gate = tasks["metric-gate"]["parameterValues"]
    assert gate["approved"] is (branch == "mark-approved")
    assert gate["reasons"][0].startswith("accuracy ")
    if branch == "record-rejection":
        rejection = tasks[branch]["artifacts"]["rejection"]["artifacts"][0]
        assert rejection["metadata"] == {"approved": False, "reasons": gate["reasons"]}

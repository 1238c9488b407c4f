"""Evaluation components: score a model on the test split, gate it, record a rejection."""

from typing import Dict, List, NamedTuple

from kfp import dsl
from kfp.dsl import HTML, ClassificationMetrics, Dataset, Input, Markdown, Metrics, Model, Output

from kfp_mlops.components.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def evaluate_classifier(
    model: Input[Model],
    test: Input[Dataset],
    target_column: str,
    metrics: Output[Metrics],
    classification_metrics: Output[ClassificationMetrics],
) -> NamedTuple(
    "Outputs",
    [
        ("accuracy", float),
        ("precision", float),
        ("recall", float),
        ("f1", float),
        ("roc_auc", float),
        ("log_loss", float),
    ],
):
    """Scores a classifier on the test split: accuracy, precision, recall, F1, ROC AUC, log loss.

    It also records the confusion matrix and, for a binary problem, the ROC curve.

    In a binary problem the positive class is the second of the sorted classes (1 for 0/1 labels).
    In a multiclass one, precision, recall and F1 are macro averages, ROC AUC is the macro
    one-vs-rest average, and no ROC curve is drawn.

    Args:
        model: A Model directory from train_sklearn (one model.joblib) or train_pytorch (scored
            through its ONNX export, what its KServe runtime serves).
        test: The test rows (Parquet) with the model's feature columns and the target.
        target_column: The label column.

    Returns:
        metrics: The six scalar metrics, the averaging used, test_rows and test_fingerprint.
        classification_metrics: The confusion matrix and (binary) the ROC curve, at most 200 points.
        accuracy: Share of test rows predicted right.
        precision: Precision of the positive class (binary) or its macro average (multiclass).
        recall: Recall of the positive class (binary) or its macro average (multiclass).
        f1: F1 of the positive class (binary) or its macro average (multiclass).
        roc_auc: Area under the ROC curve (multiclass: macro one-vs-rest).
        log_loss: Cross-entropy of the predicted probabilities; lower is better.
    """
    from collections import namedtuple

    from kfp_mlops.components.common.metrics import SCALAR_METRICS
    from kfp_mlops.components.evaluation.evaluate import evaluate_to_files

    evaluation = evaluate_to_files(
        model.path, test.path, target_column, metrics.path, classification_metrics.path
    )
    for name, value in evaluation.result.scalars.items():
        metrics.log_metric(name, value)
    metrics.metadata.update(evaluation.lineage())
    classification_metrics.log_confusion_matrix(
        evaluation.categories, evaluation.result.confusion_matrix
    )
    curve = evaluation.result.roc_curve
    if curve is not None:
        classification_metrics.log_roc_curve(
            curve.false_positive_rate, curve.true_positive_rate, curve.thresholds
        )
    outputs = namedtuple("Outputs", SCALAR_METRICS)
    return outputs(**{name: evaluation.result.scalars[name] for name in SCALAR_METRICS})


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def metric_gate(
    metrics: Input[Metrics],
    decision: Output[Markdown],
    thresholds: Dict[str, float] = {"accuracy": 0.90, "f1": 0.85},  # noqa: B006 (KFP default)
) -> NamedTuple("Outputs", [("approved", bool), ("reasons", List[str])]):
    """Approves a model only when every metric meets its threshold; records why either way.

    A threshold is a minimum, except for lower-is-better metrics (log_loss), where it is a maximum;
    equality passes. A threshold naming a metric the artifact lacks fails, and no thresholds at all
    approve nothing. A threshold that is not a number fails the step.

    Args:
        metrics: A Metrics artifact (e.g. from evaluate_classifier); its numeric entries are the
            metrics.
        thresholds: Metric name to its minimum (maximum for log_loss).

    Returns:
        decision: Markdown with the decision and a table of metric, threshold, observed value,
            margin and pass/fail. Metadata: approved, reasons.
        approved: True only when at least one threshold is given and all pass.
        reasons: One line per threshold, e.g. "accuracy 0.9561 >= 0.9000 (passed by 0.0561)".
    """
    from collections import namedtuple

    from kfp_mlops.components.evaluation.gate import gate_to_markdown

    result = gate_to_markdown(dict(metrics.metadata), decision.path, thresholds)
    decision.metadata.update({"approved": result.approved, "reasons": result.reasons})
    return namedtuple("Outputs", ["approved", "reasons"])(result.approved, result.reasons)


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def record_rejection(
    metrics: Input[Metrics],
    reasons: List[str],
    rejection: Output[Markdown],
) -> None:
    """Records why the metric gate did not approve a model (the step a gate's Else branch runs).

    Args:
        metrics: The Metrics artifact the gate judged.
        reasons: The gate's reasons (metric_gate's ``reasons`` output).

    Returns:
        rejection: Markdown listing the reasons and every metric. Metadata: approved (False),
            reasons.
    """
    from kfp_mlops.components.evaluation.rejection import record_rejection_to_markdown

    rejection.metadata.update(
        record_rejection_to_markdown(dict(metrics.metadata), reasons, rejection.path)
    )


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def champion_challenger_gate(
    metrics: Input[Metrics],
    tracking_uri: str,
    registered_model_name: str,
    decision: Output[Markdown],
    thresholds: Dict[str, float] = {"accuracy": 0.90, "f1": 0.85},  # noqa: B006 (KFP default)
    champion_alias: str = "champion",
    relative_margin: float = 0.05,
    min_improvement: float = 0.0,
) -> NamedTuple(
    "Outputs",
    [("approved", bool), ("reasons", List[str]), ("champion_version", str)],
):
    """Approves a challenger that meets the thresholds and holds up against the production model.

    The champion is the version of registered_model_name holding champion_alias in MLflow, with
    the metrics its registration run logged. The challenger must meet every absolute threshold
    (a minimum; a maximum for log_loss) and, on each thresholded metric, fall no more than
    relative_margin below the champion, or, when min_improvement is above 0, beat it by at least
    that much. With no champion yet the thresholds alone decide and the report says so. It fails
    closed: a champion lacking a gated metric, or no thresholds, approves nothing; MLflow
    credentials come from the environment (MLFLOW_TRACKING_USERNAME/PASSWORD or TOKEN).

    Args:
        metrics: The challenger's Metrics artifact (e.g. from evaluate_classifier).
        tracking_uri: sqlite:///<folder>/mlflow.db or an MLflow server's http(s):// address.
        registered_model_name: The registered model whose champion is compared with.
        thresholds: Metric name to its minimum (maximum for log_loss); also the metrics compared
            with the champion.
        champion_alias: The alias marking the production version.
        relative_margin: How far (a share, 0-1) the challenger may fall below the champion on
            each gated metric; 0.05 means 5 %.
        min_improvement: When above 0, the challenger must instead beat the champion by at least
            this much (in the metric's units) on each gated metric.

    Returns:
        decision: Markdown: the verdict, the threshold table, the comparison table (champion,
            challenger, the value to reach) naming the rule, and every reason. Metadata:
            approved, reasons, champion_version.
        approved: True only when every threshold passes and every comparison holds.
        reasons: One line per threshold and per comparison, e.g. "roc_auc 0.9219 is 6.35% worse
            than champion version 1's 0.9844: outside the 5.00% margin (must be >= 0.9352)".
        champion_version: The champion's version number, "" when there is none.
    """
    from collections import namedtuple

    from kfp_mlops.components.evaluation.champion import champion_gate_to_markdown

    result = champion_gate_to_markdown(
        dict(metrics.metadata),
        decision.path,
        thresholds,
        tracking_uri,
        registered_model_name,
        champion_alias,
        relative_margin,
        min_improvement,
    )
    decision.metadata.update(
        {
            "approved": result.approved,
            "reasons": result.reasons,
            "champion_version": result.champion_version,
        }
    )
    outputs = namedtuple("Outputs", ["approved", "reasons", "champion_version"])
    return outputs(result.approved, result.reasons, result.champion_version)


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def evaluate_regressor(
    model: Input[Model],
    test: Input[Dataset],
    target_column: str,
    metrics: Output[Metrics],
    report: Output[HTML],
) -> NamedTuple(
    "Outputs",
    [
        ("rmse", float),
        ("mae", float),
        ("r2", float),
        ("mape", float),
        ("median_absolute_error", float),
        ("max_error", float),
    ],
):
    """Scores a regressor on the test split: RMSE, MAE, R², MAPE, median and max absolute error.

    It also draws predicted against actual values and the residuals in an HTML report. MAPE is a
    share (0.1 is 10 %) over the test rows whose target is not 0 (it divides by the actual value);
    how many rows it left out is recorded. R² is 0 for a model no better than the test mean.

    Args:
        model: A Model directory from train_sklearn_regressor (one model.joblib), loaded with the
            KServe sklearn runtime's restricted unpickler.
        test: The test rows (Parquet) with the model's feature columns and the target.
        target_column: The numeric column the model predicts.

    Returns:
        metrics: The six scalar metrics, task (regression), test_rows, test_fingerprint and
            mape_excluded_rows.
        report: Self-contained HTML: the metrics, a predicted-against-actual scatter with the
            line of perfect predictions, residuals against the prediction and their histogram
            (PNG images embedded in the page; at most 5,000 sampled rows drawn).
        rmse: Root mean squared error; lower is better.
        mae: Mean absolute error; lower is better.
        r2: Coefficient of determination; higher is better.
        mape: Mean absolute percentage error as a share; lower is better.
        median_absolute_error: Median absolute error; lower is better.
        max_error: Largest absolute error; lower is better.
    """
    from collections import namedtuple

    from kfp_mlops.components.common.metrics import REGRESSION_METRICS
    from kfp_mlops.components.evaluation.regression import evaluate_regressor_to_files

    evaluation = evaluate_regressor_to_files(
        model.path, test.path, target_column, metrics.path, report.path
    )
    for name, value in evaluation.result.scalars.items():
        metrics.log_metric(name, value)
    metrics.metadata.update(evaluation.lineage())
    outputs = namedtuple("Outputs", REGRESSION_METRICS)
    return outputs(**{name: evaluation.result.scalars[name] for name in REGRESSION_METRICS})

"""Monitoring components: data drift, model quality, and the decision to retrain."""

from typing import List, NamedTuple, Optional

from kfp import dsl
from kfp.dsl import HTML, Dataset, Input, Markdown, Metrics, Output

from kfp_mlops.components.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def detect_drift(
    reference: Input[Dataset],
    current: Input[Dataset],
    drift_metrics: Output[Metrics],
    report: Output[HTML],
    target_column: Optional[str] = None,
    feature_columns: Optional[List[str]] = None,
    exclude_columns: Optional[List[str]] = None,
    psi_warn: float = 0.1,
    psi_drift: float = 0.2,
    ks_alpha: float = 0.05,
    bins: int = 10,
    max_categories: int = 20,
) -> NamedTuple(
    "Outputs",
    [("drift_detected", bool), ("drifted_features", List[str]), ("reasons", List[str])],
):
    """Compares each feature of a current dataset with the training reference and decides drift.

    PSI for numeric features (quantile bins of the reference) and categorical ones (the
    reference's most frequent values, other, missing), and the two-sample Kolmogorov-Smirnov test
    for numeric features, corrected for the number of features with Holm's step-down method. A
    numeric feature drifts when its PSI reaches psi_drift and its KS test rejects; a categorical
    one when its PSI reaches psi_drift. PSI from psi_warn, or a KS rejection alone, is a warning.

    Args:
        reference: The training reference (Parquet), e.g. the train split.
        current: The data to check (Parquet), with the reference's feature columns.
        target_column: The label column, not compared; empty or unset when there is none.
        feature_columns: The columns to compare; every reference column but the excluded ones
            when unset or empty.
        exclude_columns: Columns not compared (identifiers, timestamps...).
        psi_warn: PSI from which a feature is a warning.
        psi_drift: PSI from which a feature drifts (numeric ones also need the KS test).
        ks_alpha: Family-wise significance level of the KS tests.
        bins: Quantile bins of a numeric feature, fixed from the reference.
        max_categories: The most frequent reference values a categorical feature keeps as bins.

    Returns:
        drift_metrics: psi.<feature> and ks_pvalue.<feature> per feature, features_compared,
            features_drifted and max_psi.
        report: HTML report: verdict, reasons, a row and bin-share chart per feature, method.
        drift_detected: Whether any feature drifted.
        drifted_features: The features that drifted, in column order.
        reasons: One line per drifted or warned feature, e.g. "mean radius: drift: PSI 1.204 >=
            0.2 and KS p-value 3e-12 <= 0.001667 (alpha 0.05, Holm over 30 features)".
    """
    from collections import namedtuple

    from kfp_mlops.components.monitoring.drift import Thresholds
    from kfp_mlops.components.monitoring.drift_check import detect_drift_to_files

    result = detect_drift_to_files(
        reference.path,
        current.path,
        drift_metrics.path,
        report.path,
        Thresholds(psi_warn, psi_drift, ks_alpha, bins, max_categories),
        feature_columns=feature_columns,
        exclude_columns=[*(exclude_columns or []), *([target_column] if target_column else [])],
    )
    for name, value in result.metrics().items():
        drift_metrics.log_metric(name, value)
    report.metadata.update(
        {"drift_detected": result.drift_detected, "drifted_features": result.drifted_features}
    )
    outputs = namedtuple("Outputs", ["drift_detected", "drifted_features", "reasons"])
    return outputs(result.drift_detected, result.drifted_features, result.reasons)


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def check_model_quality(
    labelled: Input[Dataset],
    target_column: str,
    tracking_uri: str,
    registered_model_name: str,
    quality_metrics: Output[Metrics],
    report: Output[Markdown],
    alias: str = "champion",
    metric_names: Optional[List[str]] = None,
    max_degradation: float = 0.05,
) -> NamedTuple(
    "Outputs",
    [
        ("degraded", bool),
        ("reasons", List[str]),
        ("champion_version", str),
        ("champion_task", str),
    ],
):
    """Scores the champion on newly labelled data and flags a degradation of its metrics.

    The champion is the registered model version the alias points at; its recorded metrics are
    those of the MLflow run that logged it. A metric degrades when it is worse than recorded by
    more than max_degradation of the recorded value (log_loss and the regression error metrics:
    higher is worse). A champion whose MLflow tag task is regression is scored as a regressor
    (rmse, mae, r2 watched by default). Without a
    champion there is nothing to compare and nothing is degraded. Credentials come from the
    environment (MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN).

    Args:
        labelled: Newly labelled rows (Parquet) with the champion's feature columns and the label.
        target_column: The label column.
        tracking_uri: sqlite:///<folder>/mlflow.db or the http(s):// address of an MLflow
            tracking server.
        registered_model_name: The registered model.
        alias: The alias that names the champion.
        metric_names: The metrics watched (accuracy, precision, recall, f1, roc_auc, log_loss; for
            a regressor rmse, mae, r2, mape, median_absolute_error, max_error); unset: accuracy,
            f1 and roc_auc for a classifier, rmse, mae and r2 for a regressor.
        max_degradation: The largest relative worsening tolerated: 0.05 is 5 %.

    Returns:
        quality_metrics: current.<metric> for every metric, recorded.<metric> for the watched
            ones, labelled_rows.
        report: Markdown with the verdict and a recorded / current / change table.
        degraded: Whether any watched metric degraded.
        reasons: One line per watched metric, degraded ones first, e.g. "accuracy 0.8812 vs
            0.9561 recorded (-7.8%): degraded beyond 5%".
        champion_version: The champion's version number, empty when there is none.
        champion_task: The champion's task (its MLflow tag task: classification or regression;
            classification when an older version has no tag), empty when there is none.
    """
    from collections import namedtuple

    from kfp_mlops.components.monitoring.quality import check_quality_to_files

    result = check_quality_to_files(
        labelled.path,
        target_column,
        tracking_uri,
        registered_model_name,
        quality_metrics.path,
        report.path,
        alias=alias,
        metric_names=metric_names,
        max_degradation=max_degradation,
    )
    for name, value in result.metrics().items():
        quality_metrics.log_metric(name, value)
    version = result.champion.version if result.champion else ""
    report.metadata.update({"degraded": result.degraded, "champion_version": version})
    task = result.champion.tags.get("task", "classification") if result.champion else ""
    outputs = namedtuple("Outputs", ["degraded", "reasons", "champion_version", "champion_task"])
    return outputs(result.degraded, result.reasons, version, task)


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def decide_retraining(
    drift_detected: bool,
    drift_reasons: List[str],
    quality_degraded: bool,
    quality_reasons: List[str],
    decision: Output[Markdown],
) -> NamedTuple("Outputs", [("retrain", bool), ("reasons", List[str])]):
    """Decides to retrain when the data drifted or the champion's quality degraded.

    Args:
        drift_detected: detect_drift's drift_detected.
        drift_reasons: detect_drift's reasons.
        quality_degraded: check_model_quality's degraded.
        quality_reasons: check_model_quality's reasons.

    Returns:
        decision: Markdown with the decision and each check's reasons. Metadata: retrain, reasons.
        retrain: True when the data drifted or the quality degraded.
        reasons: What decided it first, then each check's reasons.
    """
    from collections import namedtuple

    from kfp_mlops.components.monitoring.retraining import decide_to_markdown

    result = decide_to_markdown(
        drift_detected, drift_reasons, quality_degraded, quality_reasons, decision.path
    )
    decision.metadata.update({"retrain": result.retrain, "reasons": result.reasons})
    return namedtuple("Outputs", ["retrain", "reasons"])(result.retrain, result.reasons)


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def record_no_retraining(reasons: List[str], record: Output[Markdown]) -> None:
    """Records that monitoring kept the current model (the step the retraining Else branch runs).

    Args:
        reasons: decide_retraining's reasons.

    Returns:
        record: Markdown listing the reasons. Metadata: retrained (False), reasons.
    """
    from kfp_mlops.components.monitoring.retraining import record_no_retraining_to_markdown

    record.metadata.update(record_no_retraining_to_markdown(reasons, record.path))

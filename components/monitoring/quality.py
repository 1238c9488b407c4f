"""Model quality: score the champion on newly labelled data and compare with its recorded metrics.

The champion is the registered model version an MLflow alias points at (``champion`` by default).
It is loaded from the registry, scored on the labelled rows with the same metrics as
``evaluate_classifier`` (see :mod:`kfp_mlops.components.common.metrics`), or of
``evaluate_regressor`` when its MLflow tag ``task`` is ``regression``, and each watched
metric is compared with the value recorded on the MLflow run that logged the version (its test
split metrics).

A metric **degrades** when it is worse than recorded by more than ``max_degradation``, relative to
the recorded value: for a higher-is-better metric ``current < recorded * (1 - max_degradation)``,
for a lower-is-better one (``log_loss``, ``rmse``, ``mae``...)
``current > recorded * (1 + max_degradation)``. With the
default 0.05, an accuracy recorded at 0.96 degrades below 0.912.

With no champion (the model is not registered yet, or the alias is not set) there is nothing to
compare: the result says so and is not degraded. A watched metric that the champion's run did not
record is listed and skipped; when none of them was recorded, the step fails.
"""

import dataclasses
import json
import math
import tempfile
from pathlib import Path

import mlflow.artifacts
from sklearn.pipeline import Pipeline

from kfp_mlops.components.common.atomic import write_text
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.metrics import lower_is_better, score_classifier
from kfp_mlops.components.common.mlflow_registry import (
    RegisteredVersion,
    connect,
    version_with_alias,
)
from kfp_mlops.components.common.registered_model import (
    load_model_folder,
    mlflow_deserialization_off,
)
from kfp_mlops.components.common.regression_metrics import score_regressor
from kfp_mlops.components.common.tables import fingerprint, read_parquet

DEFAULT_METRICS = ("accuracy", "f1", "roc_auc")
REGRESSION_DEFAULT_METRICS = ("rmse", "mae", "r2")
"""The metrics watched for a regression champion when none are named."""


@dataclasses.dataclass(frozen=True)
class MetricComparison:
    """One watched metric: recorded for the champion, measured now.

    Attributes:
        name: The metric.
        recorded: The value on the champion's MLflow run.
        current: The value on the newly labelled data.
        change: ``(current - recorded) / recorded``: negative is worse for higher-is-better
            metrics, positive is worse for lower-is-better ones. None when ``recorded`` is 0.
        degraded: Whether the metric is worse by more than the allowed share.
        reason: One line, e.g. ``accuracy 0.8812 vs 0.9561 recorded (-7.8%): degraded beyond 5%``.
    """

    name: str
    recorded: float
    current: float
    change: float | None
    degraded: bool
    reason: str


@dataclasses.dataclass(frozen=True)
class QualityResult:
    """The champion's quality on newly labelled data.

    Attributes:
        champion: The champion version, or None when there is none.
        current: Every metric measured now (empty without a champion).
        comparisons: The watched metrics the champion had recorded.
        degraded: Whether any watched metric degraded.
        reasons: The degraded metrics' reasons first, then the others', then skipped metrics.
        rows: Rows of labelled data scored.
        data_fingerprint: Fingerprint of the labelled data.
    """

    champion: RegisteredVersion | None
    current: dict[str, float]
    comparisons: list[MetricComparison]
    degraded: bool
    reasons: list[str]
    rows: int
    data_fingerprint: str

    def metrics(self) -> dict[str, float]:
        """The Metrics artifact's numbers: ``current.<metric>``, ``recorded.<metric>``, rows."""
        found = {f"current.{name}": value for name, value in self.current.items()}
        for comparison in self.comparisons:
            found[f"recorded.{comparison.name}"] = comparison.recorded
        found["labelled_rows"] = float(self.rows)
        return found

    def to_markdown(self, max_degradation: float) -> str:
        """The verdict, the champion, and a table of recorded / current / change per metric."""
        if self.champion is None:
            lines = ["# Model quality: no champion", "", *self.reasons]
            return "\n".join(lines) + "\n"
        verdict = "DEGRADED" if self.degraded else "OK"
        lines = [
            f"# Model quality: {verdict}",
            "",
            f"Champion: `{self.champion.model_uri}` (aliases: {', '.join(self.champion.aliases)}), "
            f"scored on {self.rows} newly labelled rows (`{self.data_fingerprint}`). A metric "
            f"degrades when it is worse than recorded by more than {max_degradation:.0%} of the "
            "recorded value.",
            "",
            "| metric | recorded | current | change | degraded |",
            "| --- | --- | --- | --- | --- |",
        ]
        for item in self.comparisons:
            change = "" if item.change is None else f"{item.change:+.1%}"
            lines.append(
                f"| {item.name} | {item.recorded:.4f} | {item.current:.4f} | {change} | "
                f"{'yes' if item.degraded else 'no'} |"
            )
        lines += ["", "## Reasons", "", *[f"- {reason}" for reason in self.reasons]]
        return "\n".join(lines) + "\n"


def compare_metric(
    name: str, recorded: float, current: float, max_degradation: float
) -> MetricComparison:
    """Compares one metric with its recorded value (see the module's rule)."""
    if lower_is_better(name):
        degraded = current > recorded * (1 + max_degradation)
    else:
        degraded = current < recorded * (1 - max_degradation)
    change = None if recorded == 0 else (current - recorded) / abs(recorded)
    change_text = "" if change is None else f" ({change:+.1%})"
    verdict = f"degraded beyond {max_degradation:.0%}" if degraded else "within tolerance"
    reason = f"{name} {current:.4f} vs {recorded:.4f} recorded{change_text}: {verdict}"
    return MetricComparison(name, recorded, current, change, degraded, reason)


def compare_with_champion(
    current: dict[str, float],
    recorded: dict[str, float],
    metric_names: list[str],
    max_degradation: float,
) -> tuple[list[MetricComparison], list[str]]:
    """Each watched metric compared with its recorded value; the skipped ones' reasons.

    Raises:
        ComponentInputError: A watched metric is not one evaluation computes, or the champion
            recorded none of the watched metrics.
    """
    unknown = [name for name in metric_names if name not in current]
    if unknown:
        raise ComponentInputError(
            f"metric(s) {unknown} cannot be watched; choose from {', '.join(current)}"
        )
    comparisons = [
        compare_metric(name, recorded[name], current[name], max_degradation)
        for name in metric_names
        if name in recorded and math.isfinite(recorded[name])
    ]
    skipped = [
        f"{name}: not recorded for the champion, not compared"
        for name in metric_names
        if not (name in recorded and math.isfinite(recorded[name]))
    ]
    if not comparisons:
        raise ComponentInputError(
            f"the champion recorded none of the watched metrics {metric_names}; it recorded: "
            f"{', '.join(sorted(recorded)) or 'nothing'}"
        )
    return comparisons, skipped


def load_registered_model(tracking_uri: str, version: RegisteredVersion) -> Pipeline:
    """Downloads a registered scikit-learn model version and loads it without running its code.

    MLflow's own loader would unpickle whatever the version names; see
    :mod:`kfp_mlops.components.common.registered_model` for what is loaded instead.
    """
    client = connect(tracking_uri)
    source = client.get_model_version_download_uri(version.name, version.version)
    with tempfile.TemporaryDirectory() as folder, mlflow_deserialization_off():
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=source,
            dst_path=folder,
            tracking_uri=tracking_uri,
            registry_uri=tracking_uri,
        )
        return load_model_folder(Path(local), version.model_uri)


def _check_settings(metric_names: list[str], max_degradation: float) -> None:
    if not metric_names:
        raise ComponentInputError("metric_names is empty: name at least one metric to watch")
    if not (math.isfinite(max_degradation) and 0 <= max_degradation < 1):
        raise ComponentInputError(
            f"max_degradation {max_degradation} must be a share between 0 and 1, e.g. 0.05"
        )


def check_quality(
    labelled_path: str,
    target_column: str,
    tracking_uri: str,
    registered_model_name: str,
    alias: str = "champion",
    metric_names: list[str] | None = None,
    max_degradation: float = 0.05,
) -> QualityResult:
    """Scores the champion on newly labelled data and compares it with its recorded metrics.

    Args:
        labelled_path: Parquet file of newly labelled rows (the model's features and the label).
        target_column: The label column.
        tracking_uri: The MLflow tracking URI of the registry.
        registered_model_name: The registered model.
        alias: The alias that names the champion.
        metric_names: The metrics watched; when None, :data:`DEFAULT_METRICS` for a classifier and
            :data:`REGRESSION_DEFAULT_METRICS` for a regressor (the champion's ``task`` tag).
        max_degradation: The largest relative worsening tolerated (0.05 is 5 %).

    Raises:
        ComponentInputError: Bad settings, an unreadable dataset, a missing label or feature
            column, labels the champion never saw, or a champion with none of the metrics.
    """
    names = list(DEFAULT_METRICS if metric_names is None else metric_names)
    _check_settings(names, max_degradation)
    table = read_parquet(labelled_path)
    if target_column not in table.column_names:
        raise ComponentInputError(
            f"target column {target_column!r} not found in the labelled data; the columns are: "
            f"{', '.join(table.column_names)}"
        )
    champion = version_with_alias(tracking_uri, registered_model_name, alias)
    data_fingerprint = fingerprint(table)
    if champion is None:
        reason = (
            f"registered model {registered_model_name!r} has no version with alias {alias!r}: "
            "no champion to compare"
        )
        return QualityResult(None, {}, [], False, [reason], table.num_rows, data_fingerprint)
    model = load_registered_model(tracking_uri, champion)
    # The champion's task is its registration's MLflow tag "task" (absent before regression
    # existed: a classifier); a regressor is scored with the regression metrics.
    regression = champion.tags.get("task") == "regression"
    score = score_regressor if regression else score_classifier
    if regression and metric_names is None:
        names = list(REGRESSION_DEFAULT_METRICS)
    current = score(
        model, table, target_column, "labelled data", f"champion {champion.model_uri}"
    ).scalars
    comparisons, skipped = compare_with_champion(current, champion.metrics, names, max_degradation)
    degraded = [item.reason for item in comparisons if item.degraded]
    kept = [item.reason for item in comparisons if not item.degraded]
    return QualityResult(
        champion=champion,
        current=current,
        comparisons=comparisons,
        degraded=bool(degraded),
        reasons=degraded + kept + skipped,
        rows=table.num_rows,
        data_fingerprint=data_fingerprint,
    )


def check_quality_to_files(
    labelled_path: str,
    target_column: str,
    tracking_uri: str,
    registered_model_name: str,
    metrics_path: str,
    report_path: str,
    alias: str = "champion",
    metric_names: list[str] | None = None,
    max_degradation: float = 0.05,
) -> QualityResult:
    """:func:`check_quality`, then writes the metrics (JSON) and the Markdown report atomically."""
    result = check_quality(
        labelled_path,
        target_column,
        tracking_uri,
        registered_model_name,
        alias,
        metric_names,
        max_degradation,
    )
    content = {**result.metrics(), "degraded": result.degraded, "reasons": result.reasons}
    write_text(metrics_path, json.dumps(content, indent=2) + "\n")
    write_text(report_path, result.to_markdown(max_degradation))
    for reason in result.reasons:
        print(reason)
    return result

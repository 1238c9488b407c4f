"""The drift-check step: two Parquet datasets in, the Metrics file and the HTML report out."""

import json

import pyarrow as pa
import pyarrow.parquet as pq

from kfp_mlops.components.common.atomic import write_text
from kfp_mlops.components.common.tables import read_parquet
from kfp_mlops.components.monitoring.drift import DriftResult, Thresholds, compare_datasets
from kfp_mlops.components.monitoring.report import render_html


def _read(path: str, columns: list[str] | None) -> pa.Table:
    """The dataset, or only those of ``columns`` it has (the comparison names any it lacks)."""
    if columns is None:
        return read_parquet(path)
    try:
        present = set(pq.read_schema(path).names)
    except (OSError, pa.ArrowInvalid):
        return read_parquet(path)  # raises the error that names the path
    return read_parquet(path, [column for column in columns if column in present])


def detect_drift_to_files(
    reference_path: str,
    current_path: str,
    metrics_path: str,
    report_path: str,
    thresholds: Thresholds,
    feature_columns: list[str] | None = None,
    exclude_columns: list[str] | None = None,
) -> DriftResult:
    """Compares the current dataset with the reference; writes the metrics and the report.

    Args:
        reference_path: The training reference (Parquet).
        current_path: The data to check (Parquet).
        metrics_path: Receives the metrics (per-feature PSI and KS p-value, counts) as JSON.
        report_path: Receives the HTML report.
        thresholds: PSI and KS thresholds, bins.
        feature_columns: The columns to compare; all of the reference's when None or empty.
        exclude_columns: Columns not compared (the label, identifiers).

    Returns:
        The comparison and the decision.

    Raises:
        ComponentInputError: A file is not Parquet, a dataset is empty, a named column is absent,
            or a column's kind differs between the datasets.
    """
    columns = list(feature_columns) if feature_columns else None
    result = compare_datasets(
        _read(reference_path, columns),
        _read(current_path, columns),
        thresholds,
        feature_columns=columns,
        exclude_columns=exclude_columns,
    )
    content = {
        **result.metrics(),
        "drift_detected": result.drift_detected,
        "drifted_features": result.drifted_features,
        "reasons": result.reasons,
    }
    write_text(metrics_path, json.dumps(content, indent=2) + "\n")
    write_text(report_path, render_html(result))
    for reason in result.reasons:
        print(reason)
    return result

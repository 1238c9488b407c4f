"""The regression evaluation step: a regressor scored on the test split.

Written as a Metrics artifact and an HTML report.

The metrics and their directions are those of
:mod:`kfp_mlops.components.common.regression_metrics`; the Metrics artifact also records
``task: regression``, which the gates read to refuse a classification metric's threshold.
"""

import contextlib
import dataclasses
import json

from kfp_mlops.components.common.atomic import atomic_file
from kfp_mlops.components.common.model_loading import load_model_dir
from kfp_mlops.components.common.regression_metrics import RegressionResult, score_regressor
from kfp_mlops.components.common.tables import fingerprint, read_parquet
from kfp_mlops.components.evaluation.regression_report import render_html


@dataclasses.dataclass(frozen=True)
class RegressionEvaluation:
    """The evaluation of a regressor on a test split."""

    result: RegressionResult
    test_rows: int
    test_fingerprint: str

    def lineage(self) -> dict[str, object]:
        """The task, what the metrics were computed on, and the rows MAPE left out."""
        return {
            "task": "regression",
            "test_rows": self.test_rows,
            "test_fingerprint": self.test_fingerprint,
            "mape_excluded_rows": self.result.mape_excluded_rows,
        }

    def metrics_content(self) -> dict[str, object]:
        """The Metrics artifact: the scalar metrics, then :meth:`lineage`."""
        return {**self.result.scalars, **self.lineage()}


def evaluate_regressor_model(
    model_dir: str, test_path: str, target_column: str
) -> RegressionEvaluation:
    """Scores the regressor in ``model_dir`` on the test split.

    The model is loaded as the KServe sklearn runtime loads it, with the restricted unpickler.
    """
    model = load_model_dir(model_dir)
    table = read_parquet(test_path)
    result = score_regressor(model, table, target_column, "test split", f"in {model_dir}")
    return RegressionEvaluation(result, table.num_rows, fingerprint(table))


def evaluate_regressor_to_files(
    model_dir: str, test_path: str, target_column: str, metrics_path: str, report_path: str
) -> RegressionEvaluation:
    """Evaluates the regressor and writes the metrics (JSON) and the HTML report, both or neither.

    The files exist so that the artifacts exist on storage (``kfp.local``'s cache treats a missing
    file as a cache miss); each is written to a temporary name and renamed, and nothing is written
    when scoring fails.
    """
    evaluation = evaluate_regressor_model(model_dir, test_path, target_column)
    report = render_html(evaluation.result, target_column, model_dir)
    with contextlib.ExitStack() as stack:
        metrics_file = stack.enter_context(atomic_file(metrics_path))
        report_file = stack.enter_context(atomic_file(report_path))
        metrics_file.write_text(
            json.dumps(evaluation.metrics_content(), indent=2) + "\n", encoding="utf-8"
        )
        report_file.write_text(report, encoding="utf-8")
    return evaluation

"""The evaluation step: a Model scored on the test split, written as KFP's two metrics artifacts.

The metrics and their conventions (positive class, averaging, direction) are those of
:mod:`kfp_mlops.components.common.metrics`.
"""

import dataclasses
import json

import pyarrow as pa

from kfp_mlops.components.common.atomic import write_text
from kfp_mlops.components.common.metrics import ClassificationResult, score_classifier
from kfp_mlops.components.common.model_io import load_classifier
from kfp_mlops.components.common.tables import fingerprint, read_parquet


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """The evaluation of a model on a test split, and the content of both metrics artifacts."""

    result: ClassificationResult
    test_rows: int
    test_fingerprint: str

    @property
    def categories(self) -> list[str]:
        """The class names as the confusion matrix shows them."""
        return [str(value) for value in self.result.classes]

    def lineage(self) -> dict[str, object]:
        """What the metrics were computed on: the averaging used and the test set."""
        return {
            "averaging": self.result.averaging,
            "test_rows": self.test_rows,
            "test_fingerprint": self.test_fingerprint,
        }

    def metrics_content(self) -> dict[str, object]:
        """The Metrics artifact: the scalar metrics, then :meth:`lineage`."""
        return {**self.result.scalars, **self.lineage()}

    def classification_content(self) -> dict[str, object]:
        """The ClassificationMetrics artifact, laid out as KFP's logging methods do."""
        content: dict[str, object] = {
            "confusionMatrix": {
                "annotationSpecs": [{"displayName": name} for name in self.categories],
                "rows": [{"row": row} for row in self.result.confusion_matrix],
            }
        }
        curve = self.result.roc_curve
        if curve is not None:
            content["confidenceMetrics"] = [
                {"confidenceThreshold": threshold, "recall": tpr, "falsePositiveRate": fpr}
                for fpr, tpr, threshold in zip(
                    curve.false_positive_rate,
                    curve.true_positive_rate,
                    curve.thresholds,
                    strict=True,
                )
            ]
        return content


def evaluate_model(model_dir: str, test_path: str, target_column: str) -> Evaluation:
    """Scores the model in ``model_dir`` (a training step's Model artifact) on the test split."""
    model = load_classifier(model_dir)
    table: pa.Table = read_parquet(test_path)
    result = score_classifier(model, table, target_column, "test split", f"in {model_dir}")
    return Evaluation(result, table.num_rows, fingerprint(table))


def evaluate_to_files(
    model_dir: str,
    test_path: str,
    target_column: str,
    metrics_path: str,
    classification_metrics_path: str,
) -> Evaluation:
    """Evaluates the model and writes both artifacts' content as JSON, atomically.

    KFP keeps metrics in artifact metadata; the files hold the same content so that the artifacts
    exist on storage (``kfp.local``'s cache treats a missing file as a cache miss) and can be read
    without the metadata store.
    """
    evaluation = evaluate_model(model_dir, test_path, target_column)
    write_text(metrics_path, json.dumps(evaluation.metrics_content(), indent=2) + "\n")
    write_text(
        classification_metrics_path,
        json.dumps(evaluation.classification_content(), indent=2) + "\n",
    )
    return evaluation

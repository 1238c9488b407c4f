"""Evaluation components: test-set metrics, the gates, and the record of a rejection.

The logic lives in evaluate.py (the evaluation step and its artifacts), gate.py (thresholds and the
decision), champion.py (the champion/challenger comparison with the production model in MLflow) and
rejection.py (the Markdown record a pipeline's rejected branch writes). Metric names, their
direction and the scoring of a model on a labelled table are in the shared layer
(:mod:`kfp_mlops.components.common.metrics`).
"""

from typing import TYPE_CHECKING

from kfp_mlops.components.lazy import component_loader

if TYPE_CHECKING:  # what an IDE follows; at run time the components load on first use
    from kfp_mlops.components.evaluation.component import (
        champion_challenger_gate,
        evaluate_classifier,
        evaluate_regressor,
        metric_gate,
        record_rejection,
    )

__all__ = [
    "champion_challenger_gate",
    "evaluate_classifier",
    "evaluate_regressor",
    "metric_gate",
    "record_rejection",
]
__getattr__ = component_loader(__name__, __all__)

"""Evaluation components: test-set metrics, the gates, and the record of a rejection.

The logic lives in metrics.py (metrics with sklearn.metrics), gate.py (thresholds and the decision),
champion.py (the champion/challenger comparison with the production model in MLflow) and
rejection.py (the Markdown record a pipeline's rejected branch writes).
"""

from kfp_mlops.components.lazy import component_loader

__all__ = [
    "champion_challenger_gate",
    "evaluate_classifier",
    "metric_gate",
    "record_rejection",
]
__getattr__ = component_loader(__name__, __all__)

"""Evaluation components: test-set metrics, the metric gate, and the record of a rejection.

The logic lives in metrics.py (metrics with sklearn.metrics), gate.py (thresholds and the decision)
and rejection.py (the Markdown record a pipeline's rejected branch writes).
"""

from kfp_mlops.components.lazy import component_loader

__all__ = ["evaluate_classifier", "metric_gate", "record_rejection"]
__getattr__ = component_loader(__name__, __all__)

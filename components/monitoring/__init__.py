"""Monitoring components: data drift, model quality against the champion, the retraining decision.

The logic lives in drift.py (PSI, KS, Holm, the decision), report.py (the HTML report),
drift_check.py (the drift step), quality.py (the champion on newly labelled data) and
retraining.py (the decision and its record).
"""

from typing import TYPE_CHECKING

from kfp_mlops.components.lazy import component_loader

if TYPE_CHECKING:  # what an IDE follows; at run time the components load on first use
    from kfp_mlops.components.monitoring.component import (
        check_model_quality,
        decide_retraining,
        detect_drift,
        record_no_retraining,
    )

__all__ = ["check_model_quality", "decide_retraining", "detect_drift", "record_no_retraining"]
__getattr__ = component_loader(__name__, __all__)

"""Pipelines composed from kfp-mlops components, by the name they compile to."""

from kfp_mlops.pipelines.image_classification import image_classification
from kfp_mlops.pipelines.retrain_on_drift import retrain_on_drift
from kfp_mlops.pipelines.tabular_classification import tabular_classification
from kfp_mlops.pipelines.tabular_regression import tabular_regression

PIPELINES = {
    "image-classification": image_classification,
    "retrain-on-drift": retrain_on_drift,
    "tabular-classification": tabular_classification,
    "tabular-regression": tabular_regression,
}

__all__ = [
    "PIPELINES",
    "image_classification",
    "retrain_on_drift",
    "tabular_classification",
    "tabular_regression",
]

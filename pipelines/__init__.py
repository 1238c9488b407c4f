"""Pipelines composed from kfp-mlops components, by the name they compile to."""

from kfp_mlops.pipelines.tabular_classification import tabular_classification

PIPELINES = {"tabular-classification": tabular_classification}

__all__ = ["PIPELINES", "tabular_classification"]

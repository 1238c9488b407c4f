"""Training components: scikit-learn classifiers with their preprocessing in one pipeline.

The logic lives in sklearn_estimators.py (estimators by name), features.py (column kinds and
preprocessing), train.py (the training step) and model_io.py (the Model artifact's layout).
"""

from kfp_mlops.components.lazy import component_loader

__all__ = ["train_sklearn"]
__getattr__ = component_loader(__name__, __all__)

"""Training components: scikit-learn models with their preprocessing in one pipeline
(train_sklearn), and PyTorch networks (MLP, CNN) on CPU or GPUs (train_pytorch).

The logic lives in train.py (the scikit-learn step) and onnx_export.py (its ONNX export); for
PyTorch in torch_models.py (networks), torch_data.py (Parquet to tensors), torch_train.py (the
step), torch_checkpoints.py and torch_export.py. What other stages also need (estimators by name,
feature preprocessing, the Model folder layout and its loaders) is in the shared layer,
:mod:`kfp_mlops.components.common`.
"""

from typing import TYPE_CHECKING

from kfp_mlops.components.lazy import component_loader

if TYPE_CHECKING:  # what an IDE follows; at run time the components load on first use
    from kfp_mlops.components.training.component import (
        train_pytorch,
        train_sklearn,
        train_sklearn_regressor,
    )

__all__ = ["train_pytorch", "train_sklearn", "train_sklearn_regressor"]
__getattr__ = component_loader(__name__, __all__)

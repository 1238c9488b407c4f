"""Training components: scikit-learn models, PyTorch networks, and multi-node PyTorch.

scikit-learn models with their preprocessing in one pipeline (train_sklearn), PyTorch networks (MLP,
CNN) on CPU or GPUs (train_pytorch), and the same PyTorch training on several nodes through Kubeflow
Trainer (train_pytorch_distributed).

The logic lives in train.py (the scikit-learn step) and onnx_export.py (its ONNX export); for
PyTorch in torch_models.py (networks), torch_data.py (Parquet to tensors), torch_train.py (the
step), torch_checkpoints.py and torch_export.py; on several nodes in trainjob.py (the TrainJob),
trainjob_api.py (the Kubernetes calls), trainjob_run.py (the step), distributed_node.py (what each
node runs) and shared_storage.py. What other stages also need (estimators by name, feature
preprocessing, the Model folder layout and its loaders, Kubernetes access) is in the shared layer,
:mod:`kfp_mlops.components.common`.
"""

from typing import TYPE_CHECKING

from kfp_mlops.components.lazy import component_loader

if TYPE_CHECKING:  # what an IDE follows; at run time the components load on first use
    from kfp_mlops.components.training.component import (
        train_pytorch,
        train_pytorch_distributed,
        train_sklearn,
        train_sklearn_regressor,
    )

__all__ = ["train_pytorch", "train_pytorch_distributed", "train_sklearn", "train_sklearn_regressor"]
__getattr__ = component_loader(__name__, __all__)

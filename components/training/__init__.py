"""Training components: scikit-learn classifiers with their preprocessing in one pipeline, and
PyTorch networks (MLP, CNN) on CPU or GPUs.

The logic lives in sklearn_estimators.py (estimators by name), features.py (column kinds and
preprocessing), train.py (the training step) and model_io.py (the Model artifact's layout); for
PyTorch in torch_models.py (networks), torch_data.py (Parquet to tensors), torch_train.py (the
training step), torch_checkpoints.py, torch_export.py and torch_artifact.py (the artifact's layout
and its ONNX predictor); on several nodes with Kubeflow Trainer in trainjob.py (the TrainJob),
trainjob_api.py (the Kubernetes calls), trainjob_run.py (the step), distributed_node.py (what each
node runs) and shared_storage.py.
"""

from kfp_mlops.components.lazy import component_loader

__all__ = ["train_pytorch", "train_pytorch_distributed", "train_sklearn"]
__getattr__ = component_loader(__name__, __all__)

"""Training components, each fitting a model on the train split.

A scikit-learn classifier or regressor with its preprocessing (train_sklearn,
train_sklearn_regressor), a PyTorch network on CPU or GPUs (train_pytorch), or on several nodes
through Kubeflow Trainer (train_pytorch_distributed).
"""

from typing import Dict, List, Optional

from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

from kfp_mlops.components.images import CPU_IMAGE, GPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def train_sklearn(
    train: Input[Dataset],
    target_column: str,
    model: Output[Model],
    estimator: str = "random_forest",
    hyperparameters: Optional[Dict] = None,
    seed: int = 42,
    validation: Optional[Input[Dataset]] = None,
) -> None:
    """Fits a scikit-learn classifier and its preprocessing on the train split; saves model.joblib.

    Imputation, scaling and one-hot encoding are fitted on the train split only and saved with the
    classifier as one sklearn Pipeline, which KServe's stock sklearn runtime serves.

    Args:
        train: The training rows (Parquet); every column but the target that is numeric, boolean or
            text is a feature.
        target_column: The label column.
        estimator: ``logistic_regression``, ``random_forest``, ``gradient_boosting``,
            ``hist_gradient_boosting``, ``decision_tree`` or ``k_nearest_neighbors``.
        hyperparameters: The estimator's constructor arguments, e.g. ``{"n_estimators": 200}``;
            an unknown name fails the step with the closest valid names. Unset ones keep the
            defaults.
        seed: The estimator's random_state (set it here, not in hyperparameters).
        validation: Validation rows (Parquet); when given, their accuracy is recorded on the model.

    Returns:
        model: A directory holding exactly one model.joblib: an sklearn Pipeline taking a DataFrame
            with the feature columns or a 2-D array in feature_columns order; and onnx/, the same
            model exported with skl2onnx as a Triton repository (onnx/model/1/model.onnx, one
            input per feature column). Metadata: framework, estimator, hyperparameters,
            feature_columns, excluded_columns, target_column, classes, train_fingerprint,
            train_rows, sklearn_version, onnx (the export's layout, or why there is none), and
            validation_accuracy and validation_rows when validation is given.
    """
    from kfp_mlops.components.training.train import train_to_directory

    model.metadata.update(
        train_to_directory(
            train.path,
            model.path,
            target_column,
            estimator,
            hyperparameters,
            seed,
            None if validation is None else validation.path,
        )
    )


@dsl.component(base_image=GPU_IMAGE, install_kfp_package=False)
def train_pytorch(
    train: Input[Dataset],
    validation: Input[Dataset],
    target_column: str,
    model: Output[Model],
    architecture: str = "mlp",
    hyperparameters: Optional[Dict] = None,
    max_epochs: int = 100,
    batch_size: int = 64,
    learning_rate: float = 0.001,
    weight_decay: float = 0.0001,
    patience: int = 10,
    checkpoint_every: int = 5,
    checkpoint_uri: Optional[str] = None,
    mixed_precision: str = "auto",
    seed: int = 42,
    task: str = "classification",
) -> None:
    """Trains a PyTorch classifier or regressor (MLP or CNN) on CPU or GPUs; exports it to ONNX.

    The exports are ONNX and TorchScript.

    The numeric and boolean columns of the splits are read with pyarrow straight into tensors. The
    step trains on CUDA when a GPU is visible (data-parallel over all visible GPUs with DDP under
    torchrun when there are several; bf16 or fp16 autocast) and on the CPU otherwise, stops early
    when the validation loss has not improved for ``patience`` epochs, and logs one line per epoch
    (train loss, validation loss and accuracy or, for a regressor, RMSE, samples per second). A
    regressor minimizes the mean squared error of the target standardized with the train split's
    mean and standard deviation, and answers numbers in the target's units. Every
    ``checkpoint_every``
    epochs it writes a checkpoint; run again with the same inputs, it resumes from the newest one
    and logs from which epoch. As a Vertex AI CustomJob of several replicas (``kfp-mlops compile
    --target vertex --nodes N``) each replica is one node of the same DDP training, placed by the
    CLUSTER_SPEC Vertex AI sets; the primary replica writes the model.

    Args:
        train: The training rows (Parquet); numeric and boolean columns but the target are the
            features (NaN or null is a missing value, filled with the train split's median).
        validation: The validation rows (Parquet), for early stopping.
        target_column: The label column (a regressor: the numeric column to predict).
        architecture: ``mlp`` (tabular rows) or ``cnn`` (images stored one pixel per column,
            e.g. the 64 columns of scikit-learn's 8x8 digits).
        hyperparameters: The architecture's hyperparameters; mlp: ``hidden_sizes`` ([128, 64]),
            ``dropout`` (0.1); cnn: ``image_shape`` ([channels, height, width]; default a square
            single-channel image), ``channels`` ([16, 32]), ``hidden_size`` (64), ``dropout``
            (0.25). An unknown name fails the step with the closest valid names.
        max_epochs: The most epochs to train.
        batch_size: Rows per optimizer step, over all GPUs together.
        learning_rate: AdamW's learning rate.
        weight_decay: AdamW's decoupled weight decay.
        patience: Epochs without a better validation loss before training stops (the best epoch's
            weights are kept).
        checkpoint_every: Write a checkpoint every this many epochs.
        checkpoint_uri: Where checkpoints go: a folder or a URI pyarrow opens (s3://, gs://).
            Unset or empty: inside the Model artifact's folder, which a retried task finds again
            only where that folder outlives the task (Vertex AI's /gcs mount); kfp.local and
            Kubeflow Pipelines on MinIO/S3 give a rerun a fresh folder, so set it there.
        mixed_precision: ``auto`` (bf16 on GPUs that support it, fp16 on older ones, none on the
            CPU), ``bf16``, ``fp16`` or ``off``.
        seed: Seed of the initial weights, the shuffles and dropout.
        task: ``classification`` (cross-entropy; answers class probabilities) or ``regression``
            (MSE; answers one number per row, and the target must be numeric and finite).

    Returns:
        model: A model repository for KServe's Triton runtime (kserve-tritonserver, modelFormat
            onnx): Triton models ``model`` (ONNX, model/1/model.onnx) and ``model_torchscript``
            (TorchScript, model_torchscript/1/model.pt), both taking FP32 [batch, features] and
            answering class probabilities (a regressor: FP32 [batch, 1] ``predictions``); plus
            state_dict.pt and kfp_mlops_model.json (the manifest). Metadata: framework
            (pytorch), task, architecture, estimator (pytorch_<architecture>), hyperparameters,
            training, feature_columns, excluded_columns, target_column, classes (a classifier),
            train_fingerprint, train_rows, validation_rows, validation_accuracy (a classifier) or
            validation_rmse and validation_r2 (a regressor), validation_loss, best_epoch,
            epochs_trained,
            stopped_early, resumed_from_epoch, device, processes, precision, samples_per_second,
            checkpoint_location, torch_version.
    """
    from kfp_mlops.components.training.torch_train import (
        TrainingSettings,
        train_pytorch_to_directory,
    )

    settings = TrainingSettings(
        architecture=architecture,
        hyperparameters=dict(hyperparameters or {}),
        max_epochs=max_epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        patience=patience,
        checkpoint_every=checkpoint_every,
        mixed_precision=mixed_precision,
        seed=seed,
        task=task,
    )
    metadata = train_pytorch_to_directory(
        train.path, validation.path, model.path, target_column, settings, checkpoint_uri
    )
    # None on a worker replica of a multi-replica Vertex AI CustomJob: the primary writes all.
    model.metadata.update(metadata or {})


@dsl.component(base_image=GPU_IMAGE, install_kfp_package=False)
def train_pytorch_distributed(
    train: Input[Dataset],
    validation: Input[Dataset],
    target_column: str,
    shared_storage: str,
    model: Output[Model],
    nodes: int = 2,
    processes_per_node: int = 1,
    gpus_per_node: int = 0,
    gpu_resource: str = "nvidia.com/gpu",
    cpu_per_node: Optional[str] = None,
    memory_per_node: Optional[str] = None,
    node_selector: Optional[Dict[str, str]] = None,
    tolerations: Optional[List[Dict[str, str]]] = None,
    runtime: str = "torch-distributed",
    namespace: Optional[str] = None,
    node_image: Optional[str] = None,
    shared_volume_claim: Optional[str] = None,
    timeout_seconds: int = 86400,
    architecture: str = "mlp",
    hyperparameters: Optional[Dict] = None,
    max_epochs: int = 100,
    batch_size: int = 64,
    learning_rate: float = 0.001,
    weight_decay: float = 0.0001,
    patience: int = 10,
    checkpoint_every: int = 5,
    checkpoint_uri: Optional[str] = None,
    mixed_precision: str = "auto",
    seed: int = 42,
    task: str = "classification",
) -> None:
    """Trains train_pytorch's classifier or regressor on several nodes with a Kubeflow TrainJob.

    The step copies the splits to ``shared_storage``, creates a TrainJob of the ``runtime``
    ClusterTrainingRuntime (torchrun on every node, DDP over all processes of all nodes: NCCL on
    GPUs, gloo on CPUs), follows it with a watch until it completes, fails or ``timeout_seconds``
    pass, relays the nodes' log lines (one per epoch), and copies the Model rank 0 wrote into this
    step's output. A failed TrainJob fails the step with its reason, the failing node and its last
    log lines; a timeout or a cancelled step deletes the TrainJob. The cluster needs Kubeflow
    Trainer and its runtime, and the step's service account the permissions in
    manifests/rbac-trainjob.yaml.

    Args:
        train: The training rows (Parquet), as for train_pytorch.
        validation: The validation rows (Parquet), for early stopping.
        target_column: The label column.
        shared_storage: Storage the step and every node reach: an s3:// or gs:// URI (the nodes
            need credentials for it from the cluster) or a path on shared_volume_claim.
        nodes: Training nodes (pods).
        processes_per_node: Training processes per node; at most gpus_per_node on GPU nodes.
        gpus_per_node: GPUs per node (0: CPU nodes).
        gpu_resource: The extended resource GPUs are counted in.
        cpu_per_node: CPU request and limit per node, e.g. "8"; unset leaves it to the cluster.
        memory_per_node: Memory request and limit per node, e.g. "32Gi".
        node_selector: Node labels the node pods require (a GPU profile's node selector).
        tolerations: Tolerations of the node pods, as Kubernetes writes them.
        runtime: The ClusterTrainingRuntime (torch plugin) to run on.
        namespace: The TrainJob's namespace; unset: the step pod's own.
        node_image: The nodes' image; unset: this step's default GPU image.
        shared_volume_claim: A ReadWriteMany PVC mounted in the nodes at shared_storage (a path);
            mount it on this step at the same path.
        timeout_seconds: The most seconds to wait for the TrainJob before deleting it.
        architecture: mlp or cnn, as for train_pytorch.
        hyperparameters: The architecture's hyperparameters, as for train_pytorch.
        max_epochs: The most epochs to train.
        batch_size: Rows per optimizer step, over all processes of all nodes together.
        learning_rate: AdamW's learning rate.
        weight_decay: AdamW's decoupled weight decay.
        patience: Epochs without a better validation loss before training stops.
        checkpoint_every: Write a checkpoint every this many epochs.
        checkpoint_uri: Where checkpoints go; unset: shared_storage/checkpoints. A later TrainJob
            of the same training resumes from them.
        mixed_precision: auto, bf16, fp16 or off.
        seed: Seed of the initial weights, the shuffles and dropout.
        task: classification or regression, as for train_pytorch.

    Returns:
        model: Exactly train_pytorch's Model (Triton repository with ONNX and TorchScript,
            state_dict.pt, kfp_mlops_model.json) and its metadata, plus trainjob
            (namespace/name), nodes and processes_per_node.
    """
    from kfp_mlops.components.common.kube_api import connect
    from kfp_mlops.components.images import GPU_IMAGE
    from kfp_mlops.components.training.torch_train import TrainingSettings
    from kfp_mlops.components.training.trainjob import NodeResources, SharedVolume
    from kfp_mlops.components.training.trainjob_api import TrainJobs
    from kfp_mlops.components.training.trainjob_run import Cluster, train_distributed_to_directory

    cluster = connect()
    settings = TrainingSettings(
        architecture=architecture,
        hyperparameters=dict(hyperparameters or {}),
        max_epochs=max_epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        patience=patience,
        checkpoint_every=checkpoint_every,
        mixed_precision=mixed_precision,
        seed=seed,
        task=task,
    )
    where = Cluster(
        shared=shared_storage,
        image=node_image or GPU_IMAGE,
        nodes=nodes,
        processes_per_node=processes_per_node,
        resources=NodeResources(gpus_per_node, gpu_resource, cpu_per_node, memory_per_node),
        node_selector=dict(node_selector or {}),
        tolerations=tuple(tolerations or ()),
        runtime=runtime,
        volume=SharedVolume(shared_volume_claim, shared_storage) if shared_volume_claim else None,
        timeout_seconds=timeout_seconds,
    )
    model.metadata.update(
        train_distributed_to_directory(
            train.path,
            validation.path,
            model.path,
            target_column,
            settings,
            where,
            TrainJobs(cluster, namespace or cluster.default_namespace),
            checkpoint_uri,
        )
    )


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def train_sklearn_regressor(
    train: Input[Dataset],
    target_column: str,
    model: Output[Model],
    estimator: str = "ridge",
    hyperparameters: Optional[Dict] = None,
    seed: int = 42,
    validation: Optional[Input[Dataset]] = None,
) -> None:
    """Fits a scikit-learn regressor and its preprocessing on the train split; saves model.joblib.

    Imputation, scaling and one-hot encoding are fitted on the train split only and saved with the
    regressor as one sklearn Pipeline, which KServe's stock sklearn runtime serves; its answers are
    the predicted numbers.

    Args:
        train: The training rows (Parquet); every column but the target that is numeric, boolean or
            text is a feature.
        target_column: The numeric column to predict.
        estimator: ``ridge``, ``linear_regression``, ``elastic_net``, ``random_forest``,
            ``gradient_boosting``, ``hist_gradient_boosting``, ``decision_tree`` or
            ``k_nearest_neighbors``.
        hyperparameters: The estimator's constructor arguments, e.g. ``{"alpha": 0.5}``; an
            unknown name fails the step with the closest valid names. Unset ones keep the
            defaults.
        seed: The estimator's random_state (set it here, not in hyperparameters).
        validation: Validation rows (Parquet); when given, their RMSE and R² are recorded on the
            model.

    Returns:
        model: A directory holding exactly one model.joblib: an sklearn Pipeline taking a DataFrame
            with the feature columns or a 2-D array in feature_columns order. Metadata: framework,
            task (regression), estimator, hyperparameters, feature_columns, excluded_columns,
            target_column, train_fingerprint, train_rows, sklearn_version, onnx (not exported, and
            why), and validation_rmse, validation_r2 and validation_rows when validation is given.
    """
    from kfp_mlops.components.training.train_regressor import train_regressor_to_directory

    model.metadata.update(
        train_regressor_to_directory(
            train.path,
            model.path,
            target_column,
            estimator,
            hyperparameters,
            seed,
            None if validation is None else validation.path,
        )
    )

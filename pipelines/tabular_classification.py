"""The tabular-classification pipeline: from a CSV or Parquet file to a model proven to serve."""

import functools
from collections.abc import Callable
from typing import Dict

from kfp import dsl
from kfp.dsl import Dataset, Input

from kfp_mlops.components import evaluation, registry
from kfp_mlops.pipelines import credentials, placement
from kfp_mlops.pipelines.data_steps import checked_splits, validated_splits
from kfp_mlops.pipelines.release import release_if_approved
from kfp_mlops.pipelines.training_steps import arguments_for, tuned_training

NAME = "tabular-classification"
ON_DATASET_NAME = "tabular-classification-on-dataset"
DEFAULT_THRESHOLDS = {"accuracy": 0.90, "f1": 0.85}


def tabular_classification(
    data_uri: str,
    target_column: str,
    mlflow_tracking_uri: str,
    registered_model_name: str = "tabular-classifier",
    estimator: str = "random_forest",
    hyperparameters: dict = {},  # noqa: B006 (KFP reads defaults from the signature)
    thresholds: Dict[str, float] = DEFAULT_THRESHOLDS,
    seed: int = 42,
    time_column: str = "",
    min_rows: int = 100,
    max_missing_rate: float = 0.05,
    min_class_balance: float = 0.8,
    n_trials: int = 0,
    search_space: dict = {},  # noqa: B006
    tuning_metric: str = "roc_auc",
    tuning_workers: int = 1,
    champion_relative_margin: float = 0.05,
    champion_min_improvement: float = 0.0,
    champion_alias: str = "champion",
    deploy_to_cluster: bool = False,
    service_name: str = "tabular-classifier",
    namespace: str = "",
    serving_format: str = "sklearn",
    canary_traffic_percent: int = 10,
) -> None:
    """Trains a classifier on a table and promotes it to champion if it passes the gate.

    Ingests, validates and splits a table, trains and evaluates a classifier, and serve-checks,
    registers and promotes it to champion (deploying it to KServe when asked, after checking the
    champion has not changed) only when it passes the champion/challenger gate.

    Compiled with a GPU profile (``kfp-mlops compile --gpu PROFILE``), the training step is the
    PyTorch MLP (train_pytorch) on that GPU, with the parameters mlp_hyperparameters,
    mlp_max_epochs and checkpoint_uri.

    Args:
        data_uri: CSV or Parquet file (local path, file://, s3:// or gs:// URI).
        target_column: The label column.
        mlflow_tracking_uri: MLflow tracking server or database, e.g. ``http://mlflow:5000``; its
            credentials come from the environment (a Kubernetes secret), never from parameters.
        registered_model_name: Name of the model in the MLflow model registry.
        estimator: scikit-learn estimator by name (``logistic_regression``, ``random_forest``,
            ``gradient_boosting``, ...).
        hyperparameters: The estimator's hyperparameters; those not given keep scikit-learn's
            defaults.
        thresholds: Metric name to the value it must reach (a maximum for log_loss); an empty dict
            approves nothing.
        seed: Seed of the split and of the estimator.
        time_column: A column to split by time order instead of a stratified shuffle; empty for
            the shuffle (pipeline parameters cannot be None: kfp.local 2.17 refuses them).
        min_rows: The fewest rows the data may have.
        max_missing_rate: The largest share of missing values allowed in any feature column.
        min_class_balance: The smallest normalized entropy of the target's classes.
        n_trials: Optuna trials tuning the estimator before training (0 skips tuning); the best
            trial's hyperparameters, over the fixed ``hyperparameters``, train the model.
        search_space: What tuning searches (see create_study); empty for the estimator's
            default space.
        tuning_metric: The validation metric tuning optimizes (``roc_auc``, ``accuracy``, ``f1``,
            ``log_loss``).
        tuning_workers: Parallel tuning workers; with 1 a seeded run is reproducible.
        champion_relative_margin: How far (a share) the model may fall below the current
            champion (the MLflow alias champion_alias) on each thresholded metric; 0.05 is 5 %.
        champion_min_improvement: Above 0: the model must instead beat the champion by at least
            this much on each thresholded metric.
        champion_alias: The MLflow alias of the production model: the gate compares with it, and
            an approved model is promoted to it.
        deploy_to_cluster: Deploy the approved model to a KServe InferenceService (canary,
            smoke request, rollback) before promoting it; needs a cluster (a local run has none:
            there, the approved model is promoted right after its serve-check).
        service_name: The InferenceService's name.
        namespace: Its namespace; empty for the pipeline pod's own.
        serving_format: ``sklearn`` (the sklearn runtime) or ``onnx`` (Triton, the ONNX export).
        canary_traffic_percent: The new model's share of traffic while it is checked.
    """
    split = validated_splits(
        data_uri,
        target_column,
        seed,
        min_rows,
        max_missing_rate,
        min_class_balance,
        time_column=time_column,
    )
    train_gate_release(split, **arguments_for(train_gate_release, locals()))


def tabular_classification_on_dataset(
    dataset: Input[Dataset],
    target_column: str,
    mlflow_tracking_uri: str,
    data_uri: str = "",
    registered_model_name: str = "tabular-classifier",
    estimator: str = "random_forest",
    hyperparameters: dict = {},  # noqa: B006 (KFP reads defaults from the signature)
    thresholds: Dict[str, float] = DEFAULT_THRESHOLDS,
    seed: int = 42,
    time_column: str = "",
    min_rows: int = 100,
    max_missing_rate: float = 0.05,
    min_class_balance: float = 0.8,
    n_trials: int = 0,
    search_space: dict = {},  # noqa: B006
    tuning_metric: str = "roc_auc",
    tuning_workers: int = 1,
    champion_relative_margin: float = 0.05,
    champion_min_improvement: float = 0.0,
    champion_alias: str = "champion",
    deploy_to_cluster: bool = False,
    service_name: str = "tabular-classifier",
    namespace: str = "",
    serving_format: str = "sklearn",
    canary_traffic_percent: int = 10,
) -> None:
    """tabular-classification on a Dataset already ingested: what retrain-on-drift nests.

    So the data it checked is the data it trains on, read once.

    Args:
        dataset: The ingested data (ingest_dataset's output).
        target_column: The label column.
        mlflow_tracking_uri: MLflow tracking server or database (see tabular-classification).
        data_uri: Where ``dataset`` was read from, shown as the data's source on the model card.
        registered_model_name: Name of the model in the MLflow model registry.
        estimator: scikit-learn estimator by name.
        hyperparameters: The estimator's hyperparameters.
        thresholds: Metric name to the value it must reach; an empty dict approves nothing.
        seed: Seed of the split and of the estimator.
        time_column: A column to split by time order; empty for the stratified shuffle.
        min_rows: The fewest rows the data may have.
        max_missing_rate: The largest share of missing values allowed in any feature column.
        min_class_balance: The smallest normalized entropy of the target's classes.
        n_trials: Optuna trials tuning the estimator before training (0 skips tuning).
        search_space: What tuning searches; empty for the estimator's default space.
        tuning_metric: The validation metric tuning optimizes.
        tuning_workers: Parallel tuning workers.
        champion_relative_margin: How far the model may fall below the champion (a share).
        champion_min_improvement: Above 0: the model must instead beat the champion by this much.
        champion_alias: The MLflow alias of the production model (compared, then promoted to).
        deploy_to_cluster: Deploy the approved model to a KServe InferenceService first.
        service_name: The InferenceService's name.
        namespace: Its namespace; empty for the pipeline pod's own.
        serving_format: ``sklearn`` or ``onnx``.
        canary_traffic_percent: The new model's share of traffic while it is checked.
    """
    split = checked_splits(
        dataset,
        target_column,
        seed,
        min_rows,
        max_missing_rate,
        min_class_balance,
        time_column=time_column,
    )
    train_gate_release(split, **arguments_for(train_gate_release, locals()))


def train_gate_release(
    split: dsl.PipelineTask,
    *,
    data_uri: str,
    target_column: str,
    mlflow_tracking_uri: str,
    registered_model_name: str,
    estimator: str,
    hyperparameters: dict,
    thresholds: Dict[str, float],
    seed: int,
    n_trials: int,
    search_space: dict,
    tuning_metric: str,
    tuning_workers: int,
    champion_relative_margin: float,
    champion_min_improvement: float,
    champion_alias: str,
    deploy_to_cluster: bool,
    service_name: str,
    namespace: str,
    serving_format: str,
    canary_traffic_percent: int,
) -> None:
    """Adds training, evaluation, the champion/challenger gate and the release after ``split``.

    Tuning or the given hyperparameters, train, evaluate, the champion/challenger gate, then
    register, serve-check, deploy and promote (or record the rejection).

    The steps of tabular-classification after the data steps, in one definition for both
    pipelines that run them; the keyword arguments are their parameters of the same names.
    """
    train = tuned_training(
        split,
        target_column=target_column,
        estimator=estimator,
        hyperparameters=hyperparameters,
        seed=seed,
        n_trials=n_trials,
        search_space=search_space,
        tuning_metric=tuning_metric,
        tuning_workers=tuning_workers,
        task="classification",
    )
    evaluate = evaluation.evaluate_classifier(
        model=train.outputs["model"],
        test=split.outputs["test"],
        target_column=target_column,
    )
    gate = evaluation.champion_challenger_gate(
        metrics=evaluate.outputs["metrics"],
        tracking_uri=mlflow_tracking_uri,
        registered_model_name=registered_model_name,
        thresholds=thresholds,
        relative_margin=champion_relative_margin,
        min_improvement=champion_min_improvement,
        champion_alias=champion_alias,
    )
    gate.set_caching_options(False)  # the champion in MLflow changes between runs
    release_if_approved(
        gate,
        train=train,
        evaluate=evaluate,
        split=split,
        target_column=target_column,
        mlflow_tracking_uri=mlflow_tracking_uri,
        registered_model_name=registered_model_name,
        champion_alias=champion_alias,
        deploy_to_cluster=deploy_to_cluster,
        service_name=service_name,
        namespace=namespace,
        serving_format=serving_format,
        canary_traffic_percent=canary_traffic_percent,
        register_with=registration_with_card(
            evaluate=evaluate,
            gate=gate,
            data_uri=data_uri,
            thresholds=thresholds,
        ),
    )
    credentials.attach_to_every_step()  # optional secrets; see pipelines/credentials.py


def registration_with_card(
    *,
    evaluate: dsl.PipelineTask,
    gate: dsl.PipelineTask,
    data_uri: str,
    thresholds: Dict[str, float],
) -> Callable[..., dsl.PipelineTask]:
    """The registration step of release_if_approved, writing the version's model card too.

    register_model_with_card: data, metrics against the thresholds and the champion, confusion
    matrix and ROC curve, the gate's decision, lineage.
    """
    return functools.partial(
        registry.register_model_with_card,
        classification_metrics=evaluate.outputs["classification_metrics"],
        decision=gate.outputs["decision"],
        data_uri=data_uri,
        thresholds=thresholds,
    )


# @dsl.pipeline runs the function when applied: both pipelines are made here, once
# train_gate_release, which they call, is defined.
tabular_classification = dsl.pipeline(name=NAME)(
    placement.gpu_capable(*placement.MLP_TRAINING_PARAMETERS)(tabular_classification)
)
tabular_classification_on_dataset = dsl.pipeline(name=ON_DATASET_NAME)(
    tabular_classification_on_dataset
)

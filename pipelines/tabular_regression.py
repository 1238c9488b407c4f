"""The tabular-regression pipeline: from a table with a continuous target to a gated, served model.

The loop of tabular-classification for a numeric target: the task is fixed by the pipeline (every
step it runs is a regression step: the target rules, quantile-bin stratification, a regressor,
regression metrics) and travels with the model as its ``task`` metadata and MLflow tag.
"""

from typing import Dict

from kfp import dsl
from kfp.dsl import Dataset, Input

from kfp_mlops.components import data, evaluation
from kfp_mlops.pipelines import credentials, placement
from kfp_mlops.pipelines.data_steps import versioned_ingest
from kfp_mlops.pipelines.release import release_if_approved
from kfp_mlops.pipelines.training_steps import arguments_for, tuned_training

NAME = "tabular-regression"
ON_DATASET_NAME = "tabular-regression-on-dataset"
DEFAULT_THRESHOLDS = {"r2": 0.3}
"""R² of at least 0.3: ridge on scikit-learn's diabetes data scores about 0.52 on the test split,
while predicting the mean scores about 0 (R² is 0 for the test mean itself)."""


def tabular_regression(
    data_uri: str,
    target_column: str,
    mlflow_tracking_uri: str,
    registered_model_name: str = "tabular-regressor",
    estimator: str = "ridge",
    hyperparameters: dict = {},  # noqa: B006 (KFP reads defaults from the signature)
    thresholds: Dict[str, float] = DEFAULT_THRESHOLDS,
    seed: int = 42,
    time_column: str = "",
    target_bins: int = 10,
    min_rows: int = 100,
    max_missing_rate: float = 0.05,
    n_trials: int = 0,
    search_space: dict = {},  # noqa: B006
    tuning_metric: str = "rmse",
    tuning_workers: int = 1,
    champion_relative_margin: float = 0.05,
    champion_min_improvement: float = 0.0,
    champion_alias: str = "champion",
    deploy_to_cluster: bool = False,
    service_name: str = "tabular-regressor",
    namespace: str = "",
    serving_format: str = "sklearn",
    canary_traffic_percent: int = 10,
) -> None:
    """Trains a regressor on a table and promotes it to champion if it passes the gate.

    Ingests, validates and splits a table with a numeric target, trains and evaluates a regressor,
    and registers, serve-checks and promotes it to champion (deploying it to KServe when asked) only
    when it passes the champion/challenger gate.

    Compiled with a GPU profile (``kfp-mlops compile --gpu PROFILE``), the training step is the
    PyTorch MLP as a regressor (train_pytorch with task regression: MSE loss, one output) on that
    GPU, with the parameters mlp_hyperparameters, mlp_max_epochs and checkpoint_uri; evaluation,
    the gate, the serve-check and registration read it as they read a scikit-learn regressor.

    Args:
        data_uri: CSV or Parquet file (local path, file://, s3:// or gs:// URI).
        target_column: The numeric column to predict (a class label is refused: use
            tabular-classification for that).
        mlflow_tracking_uri: MLflow tracking server or database, e.g. ``http://mlflow:5000``; its
            credentials come from the environment (a Kubernetes secret), never from parameters.
        registered_model_name: Name of the model in the MLflow model registry.
        estimator: scikit-learn regressor by name (``ridge``, ``linear_regression``,
            ``elastic_net``, ``random_forest``, ``gradient_boosting``, ``hist_gradient_boosting``,
            ``decision_tree``, ``k_nearest_neighbors``).
        hyperparameters: The estimator's hyperparameters; those not given keep scikit-learn's
            defaults.
        thresholds: Metric name to the value it must reach: a minimum for r2, a maximum for the
            error metrics (rmse, mae, mape, median_absolute_error, max_error); a classification
            metric fails the gate step; an empty dict approves nothing.
        seed: Seed of the split and of the estimator.
        time_column: A column to split by time order instead of the stratified shuffle; empty for
            the shuffle.
        target_bins: How many quantile bins of the target the shuffle is stratified on.
        min_rows: The fewest rows the data may have.
        max_missing_rate: The largest share of missing values allowed in any feature column.
        n_trials: Optuna trials tuning the regressor before training (0 skips tuning); the best
            trial's hyperparameters, over the fixed ``hyperparameters``, train the model.
        search_space: What tuning searches (see create_study); empty for the regressor's
            default space.
        tuning_metric: The validation metric tuning optimizes: ``rmse`` or ``mae`` (minimized),
            ``r2`` (maximized); growing ensembles are pruned on it as they grow.
        tuning_workers: Parallel tuning workers; with 1 a seeded run is reproducible.
        champion_relative_margin: How far (a share) the model may fall behind the current
            champion (the version holding ``champion_alias``) on each thresholded metric: below
            it for r2, above it for an error metric; 0.05 is 5 %.
        champion_min_improvement: Above 0: the model must instead beat the champion by at least
            this much on each thresholded metric.
        champion_alias: The MLflow alias of the production version the gate compares with and
            promotion moves.
        deploy_to_cluster: Deploy the approved model to a KServe InferenceService (canary,
            smoke request, rollback) before promoting it; needs a cluster.
        service_name: The InferenceService's name.
        namespace: Its namespace; empty for the pipeline pod's own.
        serving_format: ``sklearn`` (the sklearn runtime, model.joblib) or ``onnx`` (Triton, the
            ONNX export, answering ``predictions``); a ``--gpu`` build trains the PyTorch MLP,
            which only ``onnx`` serves.
        canary_traffic_percent: The new model's share of traffic while it is checked.
    """
    ingest = versioned_ingest(data_uri)
    regression_after_ingest(
        ingest.outputs["dataset"], **arguments_for(regression_after_ingest, locals())
    )


def tabular_regression_on_dataset(
    dataset: Input[Dataset],
    target_column: str,
    mlflow_tracking_uri: str,
    registered_model_name: str = "tabular-regressor",
    estimator: str = "ridge",
    hyperparameters: dict = {},  # noqa: B006 (KFP reads defaults from the signature)
    thresholds: Dict[str, float] = DEFAULT_THRESHOLDS,
    seed: int = 42,
    time_column: str = "",
    target_bins: int = 10,
    min_rows: int = 100,
    max_missing_rate: float = 0.05,
    n_trials: int = 0,
    search_space: dict = {},  # noqa: B006
    tuning_metric: str = "rmse",
    tuning_workers: int = 1,
    champion_relative_margin: float = 0.05,
    champion_min_improvement: float = 0.0,
    champion_alias: str = "champion",
    deploy_to_cluster: bool = False,
    service_name: str = "tabular-regressor",
    namespace: str = "",
    serving_format: str = "sklearn",
    canary_traffic_percent: int = 10,
) -> None:
    """tabular-regression on a Dataset already ingested: what retrain-on-drift nests (regressors).

    The data it checked is the data it trains on, read once.

    Args:
        dataset: The ingested data (ingest_dataset's output).
        target_column: The numeric column to predict.
        mlflow_tracking_uri: MLflow tracking server or database (see tabular-regression).
        registered_model_name: Name of the model in the MLflow model registry.
        estimator: scikit-learn regressor by name.
        hyperparameters: The estimator's hyperparameters.
        thresholds: Metric name to the value it must reach; an empty dict approves nothing.
        seed: Seed of the split and of the estimator.
        time_column: A column to split by time order; empty for the stratified shuffle.
        target_bins: How many quantile bins of the target the shuffle is stratified on.
        min_rows: The fewest rows the data may have.
        max_missing_rate: The largest share of missing values allowed in any feature column.
        n_trials: Optuna trials tuning the regressor before training (0 skips tuning).
        search_space: What tuning searches; empty for the regressor's default space.
        tuning_metric: The validation metric tuning optimizes.
        tuning_workers: Parallel tuning workers.
        champion_relative_margin: How far the model may fall behind the champion (a share).
        champion_min_improvement: Above 0: the model must instead beat the champion by this much.
        champion_alias: The MLflow alias of the production model (compared, then promoted to).
        deploy_to_cluster: Deploy the approved model to a KServe InferenceService first.
        service_name: The InferenceService's name.
        namespace: Its namespace; empty for the pipeline pod's own.
        serving_format: ``sklearn`` or ``onnx``.
        canary_traffic_percent: The new model's share of traffic while it is checked.
    """
    regression_after_ingest(dataset, **arguments_for(regression_after_ingest, locals()))


def regression_after_ingest(
    dataset: object,
    *,
    target_column: str,
    mlflow_tracking_uri: str,
    registered_model_name: str,
    estimator: str,
    hyperparameters: dict,
    thresholds: Dict[str, float],
    seed: int,
    time_column: str,
    target_bins: int,
    min_rows: int,
    max_missing_rate: float,
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
    """Adds tabular-regression's steps after ingest.

    Validate, split, tune or not, train, evaluate, gate, and release or record the rejection.

    One definition for both pipelines that run them; the keyword arguments are their parameters
    of the same names, ``dataset`` the ingested Dataset (an output channel or an input).
    """
    validate = data.validate_regression_dataset(
        dataset=dataset,
        target_column=target_column,
        min_rows=min_rows,
        max_missing_rate=max_missing_rate,
    )
    split = data.split_regression_dataset(
        dataset=dataset,
        target_column=target_column,
        seed=seed,
        target_bins=target_bins,
        time_column=time_column,
    ).after(validate)
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
        task="regression",
    )
    evaluate = evaluation.evaluate_regressor(
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
    )
    credentials.attach_to_every_step()  # optional secrets; see pipelines/credentials.py


# @dsl.pipeline runs the function when applied: both pipelines are made here, once
# regression_after_ingest, which they call, is defined.
tabular_regression = dsl.pipeline(name=NAME)(
    placement.gpu_capable(*placement.MLP_TRAINING_PARAMETERS)(tabular_regression)
)
tabular_regression_on_dataset = dsl.pipeline(name=ON_DATASET_NAME)(tabular_regression_on_dataset)

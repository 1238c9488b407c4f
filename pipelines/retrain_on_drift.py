"""The retrain-on-drift pipeline: check new data against the training reference, retrain if needed.

The retraining is the champion's own pipeline on the current data, nested as a sub-pipeline:
tabular-classification-on-dataset, or tabular-regression-on-dataset when the champion is a
regressor (its MLflow tag ``task``, which check_model_quality reads and outputs as
``champion_task``). Each is the same steps after ingest as its pipeline, from the same definition,
so that training, evaluation, the gates, registration and deployment stay one definition: what
tabular-classification or tabular-regression does, retraining does. It takes the Dataset the
checks read, so the current data is ingested once and the model is trained on exactly the data
that was checked. Without a champion there is no task to read: a retraining (on drift) is a
classification, as before regression existed.
"""

from typing import Dict

from kfp import dsl

from kfp_mlops.components import monitoring
from kfp_mlops.pipelines import credentials, tabular_regression
from kfp_mlops.pipelines.data_steps import versioned_ingest
from kfp_mlops.pipelines.tabular_classification import (
    DEFAULT_THRESHOLDS,
    tabular_classification_on_dataset,
)

NAME = "retrain-on-drift"


@dsl.pipeline(name=NAME)
def retrain_on_drift(
    reference_uri: str,
    current_uri: str,
    target_column: str,
    mlflow_tracking_uri: str,
    registered_model_name: str = "tabular-classifier",
    champion_alias: str = "champion",
    psi_warn: float = 0.1,
    psi_drift: float = 0.2,
    ks_alpha: float = 0.05,
    max_degradation: float = 0.05,
    estimator: str = "random_forest",
    hyperparameters: dict = {},  # noqa: B006 (KFP reads defaults from the signature)
    thresholds: Dict[str, float] = DEFAULT_THRESHOLDS,
    seed: int = 42,
    time_column: str = "",
    min_rows: int = 100,
    max_missing_rate: float = 0.05,
    min_class_balance: float = 0.8,
    deploy_to_cluster: bool = False,
    service_name: str = "tabular-classifier",
    namespace: str = "",
    regression_estimator: str = "ridge",
    regression_hyperparameters: dict = {},  # noqa: B006
    regression_thresholds: Dict[str, float] = tabular_regression.DEFAULT_THRESHOLDS,
    target_bins: int = 10,
) -> None:
    """Retrains on newly labelled data when it drifted from the reference or the champion decayed.

    The drift check compares the current data with the training reference feature by feature;
    the quality check scores the champion on it. When either finds a problem, the champion's
    pipeline runs, nested, on the current data as already ingested: tabular-regression when the
    champion's MLflow tag task is regression, else tabular-classification; otherwise the decision
    to keep the model is recorded.

    Args:
        reference_uri: The data the current model was trained on (CSV or Parquet: local path,
            file://, s3:// or gs:// URI), e.g. its train split.
        current_uri: Newly labelled data (CSV or Parquet) with the same columns; checked, and
            the training data when retraining.
        target_column: The label column (not compared for drift).
        mlflow_tracking_uri: MLflow tracking server or database holding the registered model; its
            credentials come from the environment (a Kubernetes secret), never from parameters.
        registered_model_name: The registered model whose champion is checked, and which the
            retrained model is registered under.
        champion_alias: The alias that names the model in production: the quality check scores
            it, and the retraining's gate and promotion use it.
        psi_warn: PSI from which a feature is a warning.
        psi_drift: PSI from which a feature drifts (numeric features also need the KS test).
        ks_alpha: Family-wise significance level of the KS tests (Holm-corrected).
        max_degradation: The largest relative worsening of the champion's metrics tolerated.
        estimator: The retrained model's scikit-learn estimator (see tabular-classification).
        hyperparameters: The retrained model's hyperparameters.
        thresholds: The retrained model's metric gate (see tabular-classification).
        seed: Seed of the retraining's split and estimator.
        time_column: A column to split the retraining data by time order; empty for a shuffle.
        min_rows: The fewest rows the retraining data may have.
        max_missing_rate: The largest share of missing values allowed in a feature column.
        min_class_balance: The smallest normalized entropy of the target's classes.
        deploy_to_cluster: Deploy an approved retrained model to a KServe InferenceService
            before promoting it to champion (see tabular-classification); needs a cluster.
        service_name: The InferenceService's name.
        namespace: Its namespace; empty for the pipeline pod's own.
        regression_estimator: The retrained model's scikit-learn regressor when the champion is a
            regressor (see tabular-regression).
        regression_hyperparameters: That regressor's hyperparameters.
        regression_thresholds: The retrained regressor's metric gate (see tabular-regression).
        target_bins: The quantile bins of the target a regressor's split is stratified on.
    """
    reference = versioned_ingest(reference_uri)
    current = versioned_ingest(current_uri)
    drift = monitoring.detect_drift(
        reference=reference.outputs["dataset"],
        current=current.outputs["dataset"],
        target_column=target_column,
        psi_warn=psi_warn,
        psi_drift=psi_drift,
        ks_alpha=ks_alpha,
    )
    quality = monitoring.check_model_quality(
        labelled=current.outputs["dataset"],
        target_column=target_column,
        tracking_uri=mlflow_tracking_uri,
        registered_model_name=registered_model_name,
        alias=champion_alias,
        max_degradation=max_degradation,
    )
    quality.set_caching_options(False)  # the champion may have changed since the last run
    decision = monitoring.decide_retraining(
        drift_detected=drift.outputs["drift_detected"],
        drift_reasons=drift.outputs["reasons"],
        quality_degraded=quality.outputs["degraded"],
        quality_reasons=quality.outputs["reasons"],
    )
    with dsl.If(decision.outputs["retrain"] == True, name="retrain"):  # noqa: E712
        with dsl.If(quality.outputs["champion_task"] == "regression", name="retrain-regressor"):
            tabular_regression.tabular_regression_on_dataset(
                dataset=current.outputs["dataset"],
                target_column=target_column,
                mlflow_tracking_uri=mlflow_tracking_uri,
                registered_model_name=registered_model_name,
                champion_alias=champion_alias,
                estimator=regression_estimator,
                hyperparameters=regression_hyperparameters,
                thresholds=regression_thresholds,
                seed=seed,
                time_column=time_column,
                target_bins=target_bins,
                min_rows=min_rows,
                max_missing_rate=max_missing_rate,
                deploy_to_cluster=deploy_to_cluster,
                service_name=service_name,
                namespace=namespace,
            )
        with dsl.Else(name="retrain-classifier"):
            tabular_classification_on_dataset(
                dataset=current.outputs["dataset"],
                target_column=target_column,
                mlflow_tracking_uri=mlflow_tracking_uri,
                data_uri=current_uri,
                registered_model_name=registered_model_name,
                champion_alias=champion_alias,
                estimator=estimator,
                hyperparameters=hyperparameters,
                thresholds=thresholds,
                seed=seed,
                time_column=time_column,
                min_rows=min_rows,
                max_missing_rate=max_missing_rate,
                min_class_balance=min_class_balance,
                deploy_to_cluster=deploy_to_cluster,
                service_name=service_name,
                namespace=namespace,
            )
    with dsl.Else(name="keep-model"):
        monitoring.record_no_retraining(reasons=decision.outputs["reasons"])
    credentials.attach_to_every_step()  # optional secrets; see pipelines/credentials.py

"""The tabular-classification pipeline: from a CSV or Parquet file to a model proven to serve."""

from typing import Dict

from kfp import dsl

from kfp_mlops.components import data, deployment, evaluation, registry, training

NAME = "tabular-classification"
DEFAULT_THRESHOLDS = {"accuracy": 0.90, "f1": 0.85}


@dsl.pipeline(name=NAME)
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
) -> None:
    """Ingests, validates and splits a table, trains and evaluates a classifier, and registers and
    serve-checks it only when it passes the metric gate.

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
    """
    ingest = data.ingest_dataset(source_uri=data_uri)
    validate = data.validate_dataset(
        dataset=ingest.outputs["dataset"],
        target_column=target_column,
        min_rows=min_rows,
        max_missing_rate=max_missing_rate,
        min_class_balance=min_class_balance,
    )
    split = data.split_dataset(
        dataset=ingest.outputs["dataset"],
        target_column=target_column,
        seed=seed,
        time_column=time_column,
    ).after(validate)
    train = training.train_sklearn(
        train=split.outputs["train"],
        validation=split.outputs["validation"],
        target_column=target_column,
        estimator=estimator,
        hyperparameters=hyperparameters,
        seed=seed,
    )
    evaluate = evaluation.evaluate_classifier(
        model=train.outputs["model"],
        test=split.outputs["test"],
        target_column=target_column,
    )
    gate = evaluation.metric_gate(metrics=evaluate.outputs["metrics"], thresholds=thresholds)
    with dsl.If(gate.outputs["approved"] == True, name="gate-approved"):  # noqa: E712
        register = registry.register_model(
            model=train.outputs["model"],
            metrics=evaluate.outputs["metrics"],
            train=split.outputs["train"],
            validation=split.outputs["validation"],
            test=split.outputs["test"],
            tracking_uri=mlflow_tracking_uri,
            registered_model_name=registered_model_name,
            kfp_run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
            kfp_task_name=dsl.PIPELINE_TASK_NAME_PLACEHOLDER,
        )
        register.set_caching_options(False)
        serve = deployment.serve_check(
            model=train.outputs["model"],
            test=split.outputs["test"],
            target_column=target_column,
        ).after(register)
        serve.set_caching_options(False)
    with dsl.Else(name="gate-rejected"):
        evaluation.record_rejection(
            metrics=evaluate.outputs["metrics"], reasons=gate.outputs["reasons"]
        )

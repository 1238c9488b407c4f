"""The tabular-classification pipeline: from a CSV or Parquet file to a model proven to serve."""

from typing import Dict

from kfp import dsl

from kfp_mlops.components import deployment, evaluation, registry, serving, tuning
from kfp_mlops.pipelines import placement
from kfp_mlops.pipelines.data_steps import validated_splits
from kfp_mlops.pipelines.tuning import tune_hyperparameters

NAME = "tabular-classification"
DEFAULT_THRESHOLDS = {"accuracy": 0.90, "f1": 0.85}


@dsl.pipeline(name=NAME)
@placement.gpu_capable(*placement.MLP_TRAINING_PARAMETERS)
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
    deploy_to_cluster: bool = False,
    service_name: str = "tabular-classifier",
    namespace: str = "",
    serving_format: str = "sklearn",
    canary_traffic_percent: int = 10,
) -> None:
    """Ingests, validates and splits a table, trains and evaluates a classifier, and registers,
    serve-checks and promotes it to champion (deploying it to KServe when asked) only when it
    passes the champion/challenger gate.

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
            champion (the MLflow alias ``champion``) on each thresholded metric; 0.05 is 5 %.
        champion_min_improvement: Above 0: the model must instead beat the champion by at least
            this much on each thresholded metric.
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
    with dsl.If(n_trials > 0, name="tuning"):
        tune = tune_hyperparameters(
            train=split.outputs["train"],
            validation=split.outputs["validation"],
            target_column=target_column,
            estimator=estimator,
            search_space=search_space,
            hyperparameters=hyperparameters,
            metric=tuning_metric,
            n_trials=n_trials,
            n_workers=tuning_workers,
            seed=seed,
        )
    with dsl.Else(name="no-tuning"):
        given = tuning.given_hyperparameters(estimator=estimator, hyperparameters=hyperparameters)
    train = placement.tabular_training(
        train=split.outputs["train"],
        validation=split.outputs["validation"],
        target_column=target_column,
        estimator=estimator,
        hyperparameters=dsl.OneOf(tune.outputs["best_hyperparameters"], given.output),
        seed=seed,
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
    )
    gate.set_caching_options(False)  # the champion in MLflow changes between runs
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
        registry.model_card(
            train=split.outputs["train"],
            test=split.outputs["test"],
            metrics=evaluate.outputs["metrics"],
            classification_metrics=evaluate.outputs["classification_metrics"],
            decision=gate.outputs["decision"],
            data_uri=data_uri,
            thresholds=thresholds,
            tracking_uri=mlflow_tracking_uri,
            registered_model_name=registered_model_name,
            model_version=register.outputs["model_version"],
            run_id=register.outputs["run_id"],
            kfp_run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        ).set_caching_options(False)
        serve = serving.serve_check(
            model=train.outputs["model"],
            test=split.outputs["test"],
            target_column=target_column,
        ).after(register)
        serve.set_caching_options(False)
        with dsl.If(deploy_to_cluster == True, name="deploy-to-cluster"):  # noqa: E712
            deploy = deployment.deploy_inference_service(
                model=train.outputs["model"],
                test=split.outputs["test"],
                service_name=service_name,
                namespace=namespace,
                model_format=serving_format,
                canary_traffic_percent=canary_traffic_percent,
            ).after(serve)
            deploy.set_caching_options(False)
            registry.promote_champion(
                tracking_uri=mlflow_tracking_uri,
                registered_model_name=registered_model_name,
                model_version=register.outputs["model_version"],
                compared_champion=gate.outputs["champion_version"],
                inference_service=deploy.outputs["inference_service"],
            ).set_caching_options(False)
        with dsl.Else(name="promote-without-cluster"):
            registry.promote_champion(
                tracking_uri=mlflow_tracking_uri,
                registered_model_name=registered_model_name,
                model_version=register.outputs["model_version"],
                compared_champion=gate.outputs["champion_version"],
            ).after(serve).set_caching_options(False)
    with dsl.Else(name="gate-rejected"):
        evaluation.record_rejection(
            metrics=evaluate.outputs["metrics"], reasons=gate.outputs["reasons"]
        )

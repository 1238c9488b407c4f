"""Registry components: log a training to MLflow and register its model; promote a champion."""

from typing import Dict, NamedTuple, Optional

from kfp import dsl
from kfp.dsl import (
    HTML,
    Artifact,
    ClassificationMetrics,
    Dataset,
    Input,
    Markdown,
    Metrics,
    Model,
    Output,
)

from kfp_mlops.components.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def register_model(
    model: Input[Model],
    metrics: Input[Metrics],
    train: Input[Dataset],
    validation: Input[Dataset],
    test: Input[Dataset],
    tracking_uri: str,
    registered_model_name: str,
    experiment_name: str = "kfp-mlops",
    alias: str = "challenger",
    kfp_run_id: Optional[str] = None,
    kfp_task_name: Optional[str] = None,
    deployment_follows: bool = True,
    compared_champion: Optional[str] = None,
    champion_alias: str = "champion",
    previous_alias: str = "previous",
) -> NamedTuple(
    "Outputs",
    [
        ("run_id", str),
        ("model_version", str),
        ("model_uri", str),
        ("champion_version", str),
        ("previous_version", str),
    ],
):
    """Logs a training to MLflow and registers its model as a new version under an alias.

    One MLflow run per call holds the params (estimator, hyperparameters, seed), the metrics, the
    train/validation/test datasets with their fingerprints, and the model (skops format, pinned pip
    requirements, signature and input example from the test rows). Credentials are not parameters:
    MLflow reads MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN,
    from the environment; attach them from a Kubernetes secret (kfp-kubernetes use_secret_as_env).
    With deployment_follows=False (no cluster deployment in the run), the new version is then
    promoted to champion in this step, as promote_champion would (see deployment_follows).

    Args:
        model: The trained scikit-learn model: a directory holding one model.joblib. Its metadata
            gives estimator, hyperparameters, feature_columns and train_fingerprint.
        metrics: The model's evaluation; every number in its metadata becomes a run metric.
        train: The split the model was fitted on; its fingerprint must match the model's
            train_fingerprint.
        validation: The validation split, recorded with its fingerprint.
        test: The test split, recorded with its fingerprint; its first rows are the input example.
        tracking_uri: sqlite:///<folder>/mlflow.db (artifacts go to <folder>/mlartifacts) or the
            http(s):// address of an MLflow tracking server.
        registered_model_name: The registered model that gets the new version (created when
            missing); no '/' or ':', not '.', not starting with '..' (MLflow's rules).
        experiment_name: The MLflow experiment of the run (created when missing).
        alias: Set on the new version and moved from any older one (letters, digits, _ and -).
        kfp_run_id: The KFP run, tagged on the run and version; pass
            dsl.PIPELINE_JOB_ID_PLACEHOLDER.
        kfp_task_name: The KFP task, tagged on the run and version; pass
            dsl.PIPELINE_TASK_NAME_PLACEHOLDER.
        deployment_follows: Whether a cluster deployment follows (pass the pipeline's
            deploy_to_cluster). True: the version is only registered, and promote_champion
            promotes it once deployed. False: this step then promotes it as promote_champion
            does, saving a step (one MLflow import and store opening fewer).
        compared_champion: Used when promoting: the champion version the gate compared with
            (its champion_version, "" when none); if the champion changed since, the promotion
            is refused and the step fails with the version registered. Unset skips the check.
        champion_alias: Used when promoting: the alias of the production version.
        previous_alias: Used when promoting: the alias given to the version it replaces.

    Returns:
        run_id: The MLflow run that logged the training.
        model_version: The new version number of the registered model, e.g. "2".
        model_uri: models:/<registered_model_name>/<model_version>, loadable with mlflow.pyfunc.
        champion_version: The version now holding champion_alias when this step promoted; ""
            when a deployment follows.
        previous_version: The version now holding previous_alias when this step promoted; ""
            when a deployment follows or there was no champion before.
    """
    from kfp_mlops.components.registry.registration_step import (
        promote_unless_deployed,
        register_artifacts,
    )

    registration = register_artifacts(
        model,
        metrics,
        {"train": train, "validation": validation, "test": test},
        tracking_uri=tracking_uri,
        registered_model_name=registered_model_name,
        experiment_name=experiment_name,
        alias=alias,
        kfp_run_id=kfp_run_id,
        kfp_task_name=kfp_task_name,
    )
    return promote_unless_deployed(
        registration,
        deployment_follows=deployment_follows,
        tracking_uri=tracking_uri,
        registered_model_name=registered_model_name,
        champion_alias=champion_alias,
        previous_alias=previous_alias,
        compared_champion=compared_champion,
    )


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def register_model_with_card(
    model: Input[Model],
    metrics: Input[Metrics],
    train: Input[Dataset],
    validation: Input[Dataset],
    test: Input[Dataset],
    classification_metrics: Input[ClassificationMetrics],
    decision: Input[Markdown],
    data_uri: str,
    thresholds: Dict[str, float],
    tracking_uri: str,
    registered_model_name: str,
    card: Output[HTML],
    experiment_name: str = "kfp-mlops",
    alias: str = "challenger",
    kfp_run_id: Optional[str] = None,
    kfp_task_name: Optional[str] = None,
    deployment_follows: bool = True,
    compared_champion: Optional[str] = None,
    champion_alias: str = "champion",
    previous_alias: str = "previous",
) -> NamedTuple(
    "Outputs",
    [
        ("run_id", str),
        ("model_version", str),
        ("model_uri", str),
        ("champion_version", str),
        ("previous_version", str),
    ],
):
    """Registers a model as register_model does, then writes its model card as model_card does.

    One step instead of two: each step is a process of its own that imports MLflow afresh, and
    the card needs the version just registered (see BENCHMARKS.md, "Pipeline"). The version is
    registered first; the card is then stored with it in MLflow (artifact
    model_card/model_card.html of its run, tag model_card) and written to ``card``. When the card
    cannot be stored, the step fails with the version registered (as when model_card fails
    after register_model): nothing promotes it, and the next run registers a new one. With
    deployment_follows=False, the version is promoted last, once its card is stored.

    Args:
        model: The trained scikit-learn model (see register_model).
        metrics: The model's evaluation; its numbers become run metrics and the card's metrics.
        train: The split the model was fitted on; its fingerprint must match the model's
            train_fingerprint.
        validation: The validation split, recorded with its fingerprint.
        test: The test split, recorded with its fingerprint; its first rows are the input example.
        classification_metrics: The evaluation's confusion matrix and ROC curve.
        decision: The gate's decision (metadata: approved, reasons, champion_version).
        data_uri: The file the pipeline ingested, shown as the data's source.
        thresholds: The gate's thresholds, shown beside each metric.
        tracking_uri: sqlite:///<folder>/mlflow.db or an MLflow server's http(s):// address.
        registered_model_name: The registered model that gets the new version (created when
            missing); no '/' or ':'.
        experiment_name: The MLflow experiment of the run (created when missing).
        alias: Set on the new version and moved from any older one.
        kfp_run_id: The KFP run, tagged on the run and version and shown on the card; pass
            dsl.PIPELINE_JOB_ID_PLACEHOLDER.
        kfp_task_name: The KFP task, tagged on the run and version; pass
            dsl.PIPELINE_TASK_NAME_PLACEHOLDER.
        deployment_follows: See register_model; False promotes once the card is stored.
        compared_champion: See register_model.
        champion_alias: See register_model.
        previous_alias: See register_model.

    Returns:
        card: The model card, a self-contained HTML page.
        run_id: The MLflow run that logged the training.
        model_version: The new version number of the registered model, e.g. "2".
        model_uri: models:/<registered_model_name>/<model_version>, loadable with mlflow.pyfunc.
        champion_version: See register_model.
        previous_version: See register_model.
    """
    from kfp_mlops.components.registry.model_card_page import CardInputs, write_model_card
    from kfp_mlops.components.registry.registration_step import (
        promote_unless_deployed,
        register_artifacts,
    )

    registration = register_artifacts(
        model,
        metrics,
        {"train": train, "validation": validation, "test": test},
        tracking_uri=tracking_uri,
        registered_model_name=registered_model_name,
        experiment_name=experiment_name,
        alias=alias,
        kfp_run_id=kfp_run_id,
        kfp_task_name=kfp_task_name,
    )
    inputs = CardInputs(
        data_uri=data_uri,
        train=dict(train.metadata),
        test=dict(test.metadata),
        metrics=dict(metrics.metadata),
        classification=dict(classification_metrics.metadata),
        decision=dict(decision.metadata),
        thresholds=dict(thresholds),
        registered_model_name=registered_model_name,
        model_version=registration.model_version,
        run_id=registration.run_id,
        kfp_run_id=kfp_run_id or "",
    )
    write_model_card(inputs, tracking_uri, card.path)
    return promote_unless_deployed(
        registration,
        deployment_follows=deployment_follows,
        tracking_uri=tracking_uri,
        registered_model_name=registered_model_name,
        champion_alias=champion_alias,
        previous_alias=previous_alias,
        compared_champion=compared_champion,
    )


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def promote_champion(
    tracking_uri: str,
    registered_model_name: str,
    model_version: str,
    compared_champion: Optional[str] = None,
    champion_alias: str = "champion",
    previous_alias: str = "previous",
    inference_service: Optional[Input[Artifact]] = None,
) -> NamedTuple("Outputs", [("champion_version", str), ("previous_version", str)]):
    """Makes a registered version the champion; the champion it replaces becomes the previous one.

    Run it after the model passed the gate, the serve-check and, on a cluster, the deployment.
    The new champion records the version it replaced (tag kfp_mlops.previous_champion) and, given
    the deployment's artifact, its InferenceService (kserve.* tags), so that
    `kfp-mlops rollback NAME` restores the previous champion in one command. Concurrent
    promotions of one model are serialized by a lock in the registry. If the champion changed
    since the gate compared the challenger with it, nothing moves and the step fails, saying
    another run promoted meanwhile; given the deployment's artifact, the InferenceService is then
    rolled back to the champion's recorded deployment first (the message says whether it was).

    Args:
        tracking_uri: sqlite:///<folder>/mlflow.db or an MLflow server's http(s):// address.
        registered_model_name: The registered model.
        model_version: The version to promote (register_model's model_version).
        compared_champion: The champion version the gate compared with (the gate's
            champion_version, "" when there was none); unset skips the check.
        champion_alias: The alias of the production version.
        previous_alias: The alias given to the version it replaces.
        inference_service: The deployment's artifact (deploy_inference_service), recorded on
            the version.

    Returns:
        champion_version: The version now holding the champion alias.
        previous_version: The version now holding the previous alias, "" when there was no
            champion before.
    """
    from collections import namedtuple

    from kfp_mlops.components.registry.promotion import describe_promotion, promote

    if inference_service is None:
        promotion = promote(
            tracking_uri,
            registered_model_name,
            model_version,
            champion_alias=champion_alias,
            previous_alias=previous_alias,
            compared_champion=compared_champion,
        )
    else:
        from kfp_mlops.components.deployment.undo import promote_deployed

        promotion = promote_deployed(
            tracking_uri,
            registered_model_name,
            model_version,
            dict(inference_service.metadata),
            compared_champion=compared_champion,
            champion_alias=champion_alias,
            previous_alias=previous_alias,
        )
    print(describe_promotion(promotion, champion_alias, previous_alias))
    outputs = namedtuple("Outputs", ["champion_version", "previous_version"])
    return outputs(promotion.champion_version, promotion.previous_version or "")


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def check_champion(
    tracking_uri: str,
    registered_model_name: str,
    compared_champion: str,
    champion_alias: str = "champion",
) -> None:
    """Fails when the champion changed since the gate compared the challenger with it.

    Run it right before a deployment moves traffic, so that a challenger judged against an older
    champion never reaches the cluster. promote_champion checks again, under the registry lock,
    and rolls the deployment back when another run promoted in between.

    Args:
        tracking_uri: sqlite:///<folder>/mlflow.db or an MLflow server's http(s):// address.
        registered_model_name: The registered model.
        compared_champion: The champion version the gate compared with (the gate's
            champion_version, "" when there was none).
        champion_alias: The alias of the production version.
    """
    from kfp_mlops.components.registry.promotion import check_champion as check

    check(tracking_uri, registered_model_name, compared_champion, champion_alias=champion_alias)


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def model_card(
    train: Input[Dataset],
    test: Input[Dataset],
    metrics: Input[Metrics],
    classification_metrics: Input[ClassificationMetrics],
    decision: Input[Markdown],
    data_uri: str,
    thresholds: Dict[str, float],
    tracking_uri: str,
    registered_model_name: str,
    model_version: str,
    run_id: str,
    card: Output[HTML],
    kfp_run_id: str = "",
) -> str:
    """Writes a registered model version's model card: one page to read before deploying it.

    The card shows the data (source, rows, columns and fingerprints of the train and test parts),
    the test metrics against the thresholds and the champion's, the confusion matrix and ROC
    curve, the gate's decision and reasons, and the lineage (pipeline run, MLflow run and
    version). It is stored in MLflow with the version (artifact model_card/model_card.html of its
    run, named by the version's tag model_card) before the step's output is written.

    Args:
        train: The train split (its metadata: rows, schema, fingerprint).
        test: The test split.
        metrics: The evaluation's Metrics (e.g. from evaluate_classifier).
        classification_metrics: The evaluation's confusion matrix and ROC curve.
        decision: The gate's decision (metadata: approved, reasons, champion_version).
        data_uri: The file the pipeline ingested.
        thresholds: The gate's thresholds, shown beside each metric.
        tracking_uri: The MLflow store holding the version.
        registered_model_name: The registered model.
        model_version: The version the card describes (from register_model).
        run_id: The MLflow run that logged it (from register_model).
        kfp_run_id: The pipeline run's ID.

    Returns:
        card: The model card, a self-contained HTML page.
        Output: The card's URI in MLflow, runs:/<run_id>/model_card/model_card.html.
    """
    from kfp_mlops.components.registry.model_card_page import CardInputs, write_model_card

    inputs = CardInputs(
        data_uri=data_uri,
        train=dict(train.metadata),
        test=dict(test.metadata),
        metrics=dict(metrics.metadata),
        classification=dict(classification_metrics.metadata),
        decision=dict(decision.metadata),
        thresholds=dict(thresholds),
        registered_model_name=registered_model_name,
        model_version=model_version,
        run_id=run_id,
        kfp_run_id=kfp_run_id,
    )
    return write_model_card(inputs, tracking_uri, card.path)

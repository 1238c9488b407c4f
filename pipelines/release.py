"""What a training pipeline does with a model its champion/challenger gate judged.

Approved: proven to serve in the KServe model server before it is registered (as TFX's
InfraValidator runs before the Pusher: a model the serve-check refuses never becomes an MLflow
version); registered; then, with ``deploy_to_cluster``, the champion is checked to be the one the
gate compared with before traffic moves, the model is rolled out to a KServe InferenceService and
promoted (promotion checks again under the registry lock and rolls the deployment back if another
run promoted in between); without it, promoted by the registration step itself
(``deployment_follows=False``: one process importing MLflow instead of two). Rejected: the
reasons are recorded.
"""

from collections.abc import Callable

from kfp import dsl

from kfp_mlops.components import deployment, evaluation, registry, serving
from kfp_mlops.pipelines import time_limits


def release_if_approved(
    gate: dsl.PipelineTask,
    *,
    train: dsl.PipelineTask,
    evaluate: dsl.PipelineTask,
    split: dsl.PipelineTask,
    target_column: str,
    mlflow_tracking_uri: str,
    registered_model_name: str,
    champion_alias: str,
    deploy_to_cluster: bool,
    service_name: str,
    namespace: str,
    serving_format: str,
    canary_traffic_percent: int,
    register_with: Callable[..., dsl.PipelineTask] | None = None,
) -> None:
    """Adds the approved and rejected branches after ``gate`` to the pipeline being defined.

    Args:
        gate: The champion_challenger_gate task (outputs ``approved``, ``reasons``,
            ``champion_version``).
        train: The training task (output ``model``).
        evaluate: The evaluation task (output ``metrics``).
        split: The split task (outputs ``train``, ``validation``, ``test``).
        target_column: The label or target column.
        mlflow_tracking_uri: The MLflow store.
        registered_model_name: The registered model that gets the new version.
        champion_alias: The alias of the production version.
        deploy_to_cluster: Whether to roll the model out to a KServe InferenceService.
        service_name: The InferenceService's name.
        namespace: Its namespace; empty for the pipeline pod's own.
        serving_format: ``sklearn`` or ``onnx``.
        canary_traffic_percent: The new model's share of traffic while it is checked.
        register_with: Adds the registration step, called with register_model's inputs as
            keyword arguments; it returns a task with register_model's outputs (run_id,
            model_version, model_uri, champion_version, previous_version). Unset:
            register_model. tabular-classification gives register_model_with_card, so that the
            model card is written in the same step (one MLflow import instead of two; see
            BENCHMARKS.md, "Pipeline").
    """
    with dsl.If(gate.outputs["approved"] == True, name="gate-approved"):  # noqa: E712
        # Proven to serve before it is registered (as TFX's InfraValidator runs before the
        # Pusher): a model the serve-check refuses never becomes an MLflow version.
        serve = serving.serve_check(
            model=train.outputs["model"],
            test=split.outputs["test"],
            target_column=target_column,
        )
        serve.set_caching_options(False)
        time_limits.limit(serve, time_limits.SERVE_CHECK_SECONDS)
        register = (register_with or registry.register_model)(
            model=train.outputs["model"],
            metrics=evaluate.outputs["metrics"],
            train=split.outputs["train"],
            validation=split.outputs["validation"],
            test=split.outputs["test"],
            tracking_uri=mlflow_tracking_uri,
            registered_model_name=registered_model_name,
            kfp_run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
            kfp_task_name=dsl.PIPELINE_TASK_NAME_PLACEHOLDER,
            deployment_follows=deploy_to_cluster,
            compared_champion=gate.outputs["champion_version"],
            champion_alias=champion_alias,
        ).after(serve)
        register.set_caching_options(False)
        time_limits.limit(register, time_limits.REGISTRY_SECONDS)
        with dsl.If(deploy_to_cluster == True, name="deploy-to-cluster"):  # noqa: E712
            # The champion is checked before traffic moves; promotion checks again under the
            # registry lock and rolls the deployment back if another run promoted in between.
            champion_unchanged = registry.check_champion(
                tracking_uri=mlflow_tracking_uri,
                registered_model_name=registered_model_name,
                compared_champion=gate.outputs["champion_version"],
                champion_alias=champion_alias,
            ).after(register)
            champion_unchanged.set_caching_options(False)
            deploy = deployment.deploy_inference_service(
                model=train.outputs["model"],
                test=split.outputs["test"],
                service_name=service_name,
                namespace=namespace,
                model_format=serving_format,
                canary_traffic_percent=canary_traffic_percent,
            ).after(champion_unchanged)
            deploy.set_caching_options(False)
            time_limits.limit(deploy, time_limits.DEPLOY_SECONDS)
            registry.promote_champion(
                tracking_uri=mlflow_tracking_uri,
                registered_model_name=registered_model_name,
                model_version=register.outputs["model_version"],
                compared_champion=gate.outputs["champion_version"],
                champion_alias=champion_alias,
                inference_service=deploy.outputs["inference_service"],
            ).set_caching_options(False)
    with dsl.Else(name="gate-rejected"):
        evaluation.record_rejection(
            metrics=evaluate.outputs["metrics"], reasons=gate.outputs["reasons"]
        )

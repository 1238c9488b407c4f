"""The registration step's body, shared by register_model and register_model_with_card.

A training pipeline run without a cluster deployment promotes the version it registers straight
away. That promotion happens in the registration step itself (``deployment_follows=False``)
rather than in a step of its own: each step is a process that imports MLflow and opens its store
afresh (about 1.9 s here, against 0.03 s for the promotion; see BENCHMARKS.md, "Pipeline"). With a
deployment, promotion waits for the rollout and stays promote_champion's job.
"""

from typing import NamedTuple, Protocol

from kfp_mlops.components.registry.promotion import describe_promotion, promote
from kfp_mlops.components.registry.register import DatasetPart, Registration, register_training


class ArtifactLike(Protocol):
    """What the step reads of a KFP input artifact."""

    path: str
    uri: str
    metadata: dict


class StepOutputs(NamedTuple):
    """The registration components' outputs, in order."""

    run_id: str
    model_version: str
    model_uri: str
    champion_version: str
    previous_version: str


def register_artifacts(
    model: ArtifactLike,
    metrics: ArtifactLike,
    splits: dict[str, ArtifactLike],
    **options: str | None,
) -> Registration:
    """register_training on the step's input artifacts.

    Args:
        model: The Model artifact.
        metrics: The evaluation's Metrics artifact.
        splits: The train, validation and test Dataset artifacts by name.
        **options: register_training's other keyword arguments (tracking_uri,
            registered_model_name, experiment_name, alias, kfp_run_id, kfp_task_name).

    Returns:
        The run, the new version and its models:/ URI.
    """
    return register_training(
        model_dir=model.path,
        model_metadata=model.metadata,
        metrics_metadata=metrics.metadata,
        datasets={
            name: DatasetPart(path=part.path, uri=part.uri, metadata=part.metadata)
            for name, part in splits.items()
        },
        **options,
    )


def promote_unless_deployed(
    registration: Registration,
    *,
    deployment_follows: bool,
    tracking_uri: str,
    registered_model_name: str,
    champion_alias: str,
    previous_alias: str,
    compared_champion: str | None,
) -> StepOutputs:
    """Promotes the registered version when no deployment follows; the step's outputs either way.

    Args:
        registration: What register_training gave back.
        deployment_follows: True: only registered (promote_champion promotes after the rollout,
            and both version outputs are ""). False: promoted now, as promote_champion does.
        tracking_uri: The MLflow store.
        registered_model_name: The registered model.
        champion_alias: The alias of the production version.
        previous_alias: The alias given to the version it replaces.
        compared_champion: The champion version the gate compared with ("" when none); None
            skips the check.

    Returns:
        The registration's outputs, then the champion and previous versions.
    """
    if deployment_follows:
        return StepOutputs(*registration, "", "")
    promotion = promote(
        tracking_uri,
        registered_model_name,
        registration.model_version,
        champion_alias=champion_alias,
        previous_alias=previous_alias,
        compared_champion=compared_champion,
    )
    print(describe_promotion(promotion, champion_alias, previous_alias))
    return StepOutputs(*registration, promotion.champion_version, promotion.previous_version or "")

"""Take back a deployment whose promotion was refused, so the cluster serves the champion again.

The pipeline checks the champion before it deploys (``check_champion``), but another run can still
promote between that check and this run's promotion. The promotion is then refused, and the
InferenceService, which already serves this run's model, is put back on the champion's model: the
champion's version records where it was deployed (``kserve.*`` tags), and
:func:`.restore.restore_inference_service` rolls that back out. When the champion was never
deployed on this service, there is nothing known to put back: the message says so and names the
service, so a person can act.

``kfp-mlops rollback`` restores the InferenceService before it moves the aliases under the
registry lock (a rollout can take minutes; the lock is for alias moves of seconds). A promotion
landing in between makes the alias move refuse: :func:`after_failed_rollback` then says so and
puts the service on the new champion's deployment, the same way.
"""

from collections.abc import Callable, Mapping

from kfp_mlops.components.common.errors import ComponentError
from kfp_mlops.components.deployment.restore import REQUIRED_TAGS, restore_inference_service
from kfp_mlops.components.registry.promotion import (
    Promotion,
    RollbackPlan,
    champion_deployment,
    promote,
)


def undo_deployment(
    deployed: Mapping[str, object],
    champion_version: str | None,
    champion_deployment: Mapping[str, str],
    log: Callable[[str], None] = print,
) -> str:
    """Puts the InferenceService ``deployed`` back on the champion's model; returns what it did.

    Args:
        deployed: The deployment step's description (name, namespace, storage_uri...).
        champion_version: The version holding the champion alias now (None: none).
        champion_deployment: That version's ``kserve.*`` tags, without the prefix.
        log: Receives one line per rollout step.

    Returns:
        One sentence for the error message: rolled back, or why not.
    """
    service = f"{deployed.get('namespace')}/{deployed.get('name')}"
    same_service = all(
        str(champion_deployment.get(key)) == str(deployed.get(key)) for key in ("name", "namespace")
    )
    if (
        champion_version is None
        or not same_service
        or not all(champion_deployment.get(key) for key in REQUIRED_TAGS)
    ):
        return (
            f"InferenceService {service} still serves this run's model: the champion "
            f"({'version ' + champion_version if champion_version else 'none'}) records no "
            "deployment on it to put back; roll it out or delete the service by hand"
        )
    try:
        restore_inference_service(champion_deployment, log=log)
    except ComponentError as error:
        return f"rolling InferenceService {service} back to the champion failed too: {error}"
    return (
        f"InferenceService {service} was rolled back to the champion, version {champion_version} "
        f"({champion_deployment['storage_uri']})"
    )


def promote_deployed(
    tracking_uri: str,
    registered_model_name: str,
    version: str,
    deployed: Mapping[str, object],
    compared_champion: str | None = None,
    champion_alias: str = "champion",
    previous_alias: str = "previous",
    log: Callable[[str], None] = print,
) -> Promotion:
    """Promotes a deployed version; when the promotion is refused or fails, undoes the deployment.

    A promotion that fails after the champion alias moved to ``version`` (only the previous alias
    was left behind) keeps the deployment: the service serves the champion.

    Raises:
        ComponentInputError: The promotion was refused; the message gives its reason and what
            became of the deployment (see :func:`undo_deployment`).
        ExternalSystemError: MLflow failed during the promotion; the message says what became of
            the aliases and of the deployment.
    """
    try:
        return promote(
            tracking_uri,
            registered_model_name,
            version,
            champion_alias=champion_alias,
            previous_alias=previous_alias,
            compared_champion=compared_champion,
            deployment=deployed,
        )
    except ComponentError as error:  # refused, or the registry failed: either way, undo
        outcome = _undo_unless_champion(
            tracking_uri, registered_model_name, version, deployed, champion_alias, log
        )
        raise type(error)(f"{error}; {outcome}") from None


def _undo_unless_champion(
    tracking_uri: str,
    registered_model_name: str,
    version: str,
    deployed: Mapping[str, object],
    champion_alias: str,
    log: Callable[[str], None],
) -> str:
    """Undoes the deployment unless ``version`` is the champion after all; says what it did."""
    service = f"{deployed.get('namespace')}/{deployed.get('name')}"
    try:
        champion, recorded = champion_deployment(
            tracking_uri, registered_model_name, champion_alias
        )
    except ComponentError as unreadable:  # MLflow still failing: the champion is unknown
        return (
            f"InferenceService {service} still serves this run's model: the champion could not "
            f"be read to put it back ({unreadable}); run `kfp-mlops rollback` when MLflow answers"
        )
    if champion == version:  # the alias moved after all (an answer lost after the write)
        return (
            f"MLflow shows version {version} as the champion, so InferenceService {service} "
            "keeps serving it"
        )
    return undo_deployment(deployed, champion, recorded, log=log)


def after_failed_rollback(
    tracking_uri: str,
    plan: RollbackPlan,
    error: ComponentError,
    champion_alias: str = "champion",
    log: Callable[[str], None] = print,
) -> str:
    """Says what became of a rollback whose service was restored but whose aliases did not move.

    When another run promoted meanwhile, the service is put back on that new champion.

    Args:
        tracking_uri: The MLflow store.
        plan: The rollback whose InferenceService was restored (``plan.restored_deployment``).
        error: Why the aliases did not move.
        champion_alias: The alias of the production version.
        log: Receives one line per rollout step.

    Returns:
        The one-line message the rollback fails with.
    """
    restored = plan.restored_deployment
    service = f"{restored.get('namespace')}/{restored.get('name')}"
    try:
        champion, recorded = champion_deployment(
            tracking_uri, plan.registered_model_name, champion_alias
        )
    except ComponentError as unreadable:
        champion, recorded = plan.current_version, {}
        error = unreadable
    if champion == plan.current_version:  # nothing else moved it: a rerun finishes the job
        return (
            f"{error}; InferenceService {service} already serves version "
            f"{plan.restored_version}, which is not the champion yet: run the rollback again"
        )
    outcome = undo_deployment(restored, champion, recorded, log=log)
    return (
        f"the {champion_alias!r} alias moved to version {champion} while rolling back (another "
        f"run promoted it), so no alias moved; InferenceService {service} had been restored to "
        f"version {plan.restored_version}: {outcome}"
    )

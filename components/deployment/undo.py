"""Take back a deployment whose promotion was refused, so the cluster serves the champion again.

The pipeline checks the champion before it deploys (``check_champion``), but another run can still
promote between that check and this run's promotion. The promotion is then refused, and the
InferenceService, which already serves this run's model, is put back on the champion's model: the
champion's version records where it was deployed (``kserve.*`` tags), and
:func:`.restore.restore_inference_service` rolls that back out. When the champion was never
deployed on this service, there is nothing known to put back: the message says so and names the
service, so a person can act.
"""

from collections.abc import Callable, Mapping

from kfp_mlops.components.common.errors import ComponentError
from kfp_mlops.components.deployment.restore import REQUIRED_TAGS, restore_inference_service
from kfp_mlops.components.registry.promotion import Promotion, champion_deployment, promote


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
    if champion == version:
        return f"InferenceService {service} keeps serving version {version}, the champion"
    return undo_deployment(deployed, champion, recorded, log=log)

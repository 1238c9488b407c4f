"""Move the champion alias after a successful deployment, and move it back (rollback).

Promotion (after the challenger passed the gate, the serve-check and, on a cluster, the rollout):
the version holding the champion alias gets the previous alias, the challenger gets the champion
alias, and the new champion records which version it replaced (version tag
:data:`PREVIOUS_CHAMPION_TAG`) and, when it was deployed, where (``kserve.*`` tags). So the
champions form a chain, and rollback is one command:

Rollback: the champion alias goes back to the version the champion replaced (its
:data:`PREVIOUS_CHAMPION_TAG`; the previous alias for a champion set by hand), the previous alias
moves one step further down the chain (or is removed at its end), and the version rolled back from
is tagged :data:`ROLLED_BACK_TAG`. Rolling back twice restores the champion before the
previous one, not the one just rolled back from.

MLflow has no transactions: the champion alias is always set first, so at every moment it points
at a version that was approved. An interruption after it (a killed step, MLflow failing) leaves
the previous alias one champion behind (or, for a rollback, equal to the champion); rollback does
not rely on that alias but on the champion's tag, written before the alias moved.

Two runs promoting at once: each holds the registered model's lock in the registry
(:mod:`.registry_lock`) from reading the champion to moving the aliases, so they move one after
the other. The second then finds the champion changed since its gate compared with it
(``compared_champion``) and is refused, saying another run promoted meanwhile: exactly one wins.
"""

import dataclasses
from collections.abc import Mapping

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.mlflow_registry import (
    check_alias,
    check_registered_model_name,
    connect,
)
from kfp_mlops.components.registry.registry_errors import mlflow_failures
from kfp_mlops.components.registry.registry_lock import registry_lock

PREVIOUS_CHAMPION_TAG = "kfp_mlops.previous_champion"
"""Version tag on a champion: the version that was champion before it."""
ROLLED_BACK_TAG = "kfp_mlops.rolled_back"
"""Version tag on a version that was champion until a rollback: "true"."""
DEPLOYMENT_TAG_PREFIX = "kserve."
DEPLOYMENT_KEYS = ("name", "namespace", "url", "revision", "storage_uri", "model_format")
"""What a deployed champion records about its InferenceService, as ``kserve.<key>`` tags."""


@dataclasses.dataclass(frozen=True)
class Promotion:
    """What promotion did.

    Attributes:
        registered_model_name: The registered model.
        champion_version: The version now holding the champion alias.
        previous_version: The version now holding the previous alias (None: there was no
            champion before).
        changed: False when the version already was the champion.
    """

    registered_model_name: str
    champion_version: str
    previous_version: str | None
    changed: bool


@dataclasses.dataclass(frozen=True)
class RollbackPlan:
    """What a rollback will do, read before anything moves.

    Attributes:
        registered_model_name: The registered model.
        current_version: The champion now (rolled back from).
        restored_version: The version becoming champion again: the one the champion replaced
            (its :data:`PREVIOUS_CHAMPION_TAG`), else the previous alias's.
        next_previous: The version the previous alias moves to (None: removed).
        current_deployment: ``kserve.*`` tags of the current champion (empty: not deployed).
        restored_deployment: ``kserve.*`` tags of the restored version (empty: not deployed).
    """

    registered_model_name: str
    current_version: str
    restored_version: str
    next_previous: str | None
    current_deployment: dict[str, str]
    restored_deployment: dict[str, str]


def describe_promotion(promotion: Promotion, champion_alias: str, previous_alias: str) -> str:
    """One line saying where the aliases now point, as the promotion steps print it."""
    moved = f"{promotion.registered_model_name}: version {promotion.champion_version}"
    moved += f" is {champion_alias!r}"
    if promotion.previous_version:
        moved += f", version {promotion.previous_version} is {previous_alias!r}"
    return moved


def _aliases(client: MlflowClient, name: str) -> dict[str, str]:
    try:
        return {
            alias: str(version)
            for alias, version in client.get_registered_model(name).aliases.items()
        }
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise ComponentInputError(f"registered model {name!r} does not exist") from None
        raise


def _tags(client: MlflowClient, name: str, version: str) -> dict[str, str]:
    try:
        return dict(client.get_model_version(name, version).tags)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise ComponentInputError(
                f"registered model {name!r} has no version {version!r}"
            ) from None
        raise


def deployment_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The ``kserve.*`` tags of a version, without the prefix."""
    return {
        key[len(DEPLOYMENT_TAG_PREFIX) :]: value
        for key, value in tags.items()
        if key.startswith(DEPLOYMENT_TAG_PREFIX)
    }


def _check(name: str, *aliases: str) -> None:
    check_registered_model_name(name)
    for alias in aliases:
        check_alias(alias)
    if len(set(aliases)) != len(aliases):
        raise ComponentInputError(f"the aliases must differ; got {', '.join(aliases)}")


def promote(
    tracking_uri: str,
    registered_model_name: str,
    version: str,
    champion_alias: str = "champion",
    previous_alias: str = "previous",
    compared_champion: str | None = None,
    deployment: Mapping[str, object] | None = None,
) -> Promotion:
    """Makes ``version`` the champion; the champion it replaces becomes the previous one.

    Args:
        tracking_uri: The MLflow store.
        registered_model_name: The registered model.
        version: The version to promote (the challenger that passed).
        champion_alias: The alias of the production version.
        previous_alias: The alias of the version it replaces.
        compared_champion: The champion version the gate compared the challenger with ("" when
            there was none); None skips the check. If the champion changed since, the promotion
            is refused: the challenger was not judged against the current champion.
        deployment: The deployed InferenceService's description (name, namespace, url,
            revision, storage_uri, model_format), recorded as ``kserve.*`` version tags.

    Raises:
        ComponentInputError: A bad name, alias or version, the champion changed since the gate
            (another run promoted first), or another promotion held the lock too long.
        ExternalSystemError: MLflow failed meanwhile (a 5xx after its own retries, a lost
            connection); the message says whether the champion alias moved.
    """
    _check(registered_model_name, champion_alias, previous_alias)
    client = connect(tracking_uri)
    doing = f"promoting version {version} of {registered_model_name!r}"
    with (
        mlflow_failures(doing, f"the {champion_alias!r} alias was not moved by this step"),
        registry_lock(client, registered_model_name, f"promotion of version {version}"),
    ):
        return _promote_locked(
            client,
            registered_model_name,
            version,
            champion_alias,
            previous_alias,
            compared_champion,
            deployment,
        )


def check_champion(
    tracking_uri: str,
    registered_model_name: str,
    compared_champion: str,
    champion_alias: str = "champion",
) -> None:
    """Refuses, before anything is deployed, when the champion moved since the gate.

    Raises:
        ComponentInputError: The champion is no longer ``compared_champion`` ("" for none).
    """
    _check(registered_model_name, champion_alias)
    aliases = _aliases_or_none(connect(tracking_uri), registered_model_name)
    _refuse_if_changed(registered_model_name, aliases.get(champion_alias), compared_champion)


def champion_deployment(
    tracking_uri: str, registered_model_name: str, champion_alias: str = "champion"
) -> tuple[str | None, dict[str, str]]:
    """The champion version (None: none) and its ``kserve.*`` tags, without the prefix.

    Raises:
        ComponentInputError: A bad name or alias.
        ExternalSystemError: MLflow does not answer, or fails while being read.
    """
    _check(registered_model_name, champion_alias)
    client = connect(tracking_uri)
    with mlflow_failures(f"reading the {champion_alias!r} of {registered_model_name!r}"):
        champion = _aliases_or_none(client, registered_model_name).get(champion_alias)
        if champion is None:
            return None, {}
        return champion, deployment_tags(_tags(client, registered_model_name, champion))


def _aliases_or_none(client: MlflowClient, name: str) -> dict[str, str]:
    """The aliases; none when the model is not registered yet."""
    try:
        return _aliases(client, name)
    except ComponentInputError:
        return {}


def _refuse_if_changed(name: str, current: str | None, compared_champion: str | None) -> None:
    if compared_champion is not None and (current or "") != compared_champion:
        raise ComponentInputError(
            f"the champion of {name!r} is now "
            f"{'version ' + current if current else 'unset'}, but the gate compared the challenger "
            f"with {'version ' + compared_champion if compared_champion else 'no champion'}: "
            "another run promoted meanwhile; run the pipeline again to compare with it"
        )


def _promote_locked(
    client: MlflowClient,
    registered_model_name: str,
    version: str,
    champion_alias: str,
    previous_alias: str,
    compared_champion: str | None,
    deployment: Mapping[str, object] | None,
) -> Promotion:
    """:func:`promote`, with the registry lock held."""
    aliases = _aliases(client, registered_model_name)
    _tags(client, registered_model_name, version)  # the version must exist
    current = aliases.get(champion_alias)
    _refuse_if_changed(registered_model_name, current, compared_champion)
    for key in DEPLOYMENT_KEYS:
        if deployment and deployment.get(key) is not None:
            client.set_model_version_tag(
                registered_model_name,
                version,
                f"{DEPLOYMENT_TAG_PREFIX}{key}",
                str(deployment[key]),
            )
    if current == version:
        previous = aliases.get(previous_alias)
        return Promotion(registered_model_name, version, previous, changed=False)
    if current is not None:
        client.set_model_version_tag(registered_model_name, version, PREVIOUS_CHAMPION_TAG, current)
    client.set_registered_model_alias(registered_model_name, champion_alias, version)
    if current is not None:
        with mlflow_failures(
            f"moving the {previous_alias!r} alias of {registered_model_name!r} to {current}",
            f"version {version} is the champion now, but {previous_alias!r} still points at "
            f"{'version ' + aliases[previous_alias] if previous_alias in aliases else 'nothing'}; "
            f"a rollback restores version {current} all the same (it follows the "
            f"{PREVIOUS_CHAMPION_TAG} tag)",
        ):
            client.set_registered_model_alias(registered_model_name, previous_alias, current)
    return Promotion(registered_model_name, version, current, changed=True)


def plan_rollback(
    tracking_uri: str,
    registered_model_name: str,
    champion_alias: str = "champion",
    previous_alias: str = "previous",
) -> RollbackPlan:
    """Reads what a rollback would do; nothing moves.

    Raises:
        ComponentInputError: The model does not exist, has no champion, or no previous version
            to restore.
    """
    _check(registered_model_name, champion_alias, previous_alias)
    client = connect(tracking_uri)
    aliases = _aliases(client, registered_model_name)
    current = aliases.get(champion_alias)
    if current is None:
        raise ComponentInputError(
            f"registered model {registered_model_name!r} has no {champion_alias!r} alias: "
            "nothing to roll back"
        )
    current_tags = _tags(client, registered_model_name, current)
    # The champion's own tag, not the previous alias, says what to restore. Promotion writes the
    # tag before it moves the champion alias, and moving that alias is the one step that commits
    # a promotion (or a rollback); the previous alias moves after it, so a promotion or rollback
    # cut in between (a killed step, MLflow failing) leaves that alias one champion behind, while
    # the tag of whatever holds the champion alias is always right. Moving the previous alias
    # first instead would leave it equal to the champion after such a cut, with nothing left that
    # names the version before. The alias is the fallback for a champion set without promote().
    tagged = current_tags.get(PREVIOUS_CHAMPION_TAG)
    restored = tagged if tagged and tagged != current else aliases.get(previous_alias)
    if restored is None:
        raise ComponentInputError(
            f"registered model {registered_model_name!r} has no {previous_alias!r} alias: there "
            f"is no earlier champion to restore (the champion is version {current})"
        )
    restored_tags = _tags(client, registered_model_name, restored)
    next_previous = restored_tags.get(PREVIOUS_CHAMPION_TAG)
    return RollbackPlan(
        registered_model_name=registered_model_name,
        current_version=current,
        restored_version=restored,
        next_previous=next_previous if next_previous and next_previous != restored else None,
        current_deployment=deployment_tags(current_tags),
        restored_deployment=deployment_tags(restored_tags),
    )


def apply_rollback(
    tracking_uri: str,
    plan: RollbackPlan,
    champion_alias: str = "champion",
    previous_alias: str = "previous",
) -> None:
    """Moves the aliases as ``plan`` says (champion first, see the module docstring).

    Raises:
        ComponentInputError: The champion moved since the plan was made.
    """
    client = connect(tracking_uri)
    name = plan.registered_model_name
    with registry_lock(client, name, f"rollback from version {plan.current_version}"):
        _apply_rollback_locked(client, plan, champion_alias, previous_alias)


def _apply_rollback_locked(
    client: MlflowClient, plan: RollbackPlan, champion_alias: str, previous_alias: str
) -> None:
    name = plan.registered_model_name
    if _aliases(client, name).get(champion_alias) != plan.current_version:
        raise ComponentInputError(
            f"the {champion_alias!r} alias of {name!r} moved while rolling back; nothing changed "
            "in MLflow: run the rollback again"
        )
    client.set_registered_model_alias(name, champion_alias, plan.restored_version)
    client.set_model_version_tag(name, plan.current_version, ROLLED_BACK_TAG, "true")
    if plan.next_previous is not None:
        client.set_registered_model_alias(name, previous_alias, plan.next_previous)
    else:
        client.delete_registered_model_alias(name, previous_alias)

"""Reach an MLflow tracking server or SQLite store, and read and move registered-model aliases.

Helpers shared by every stage that talks to MLflow (registration, the champion/challenger gate,
deployment). Credentials are never parameters: MLflow reads ``MLFLOW_TRACKING_USERNAME`` and
``MLFLOW_TRACKING_PASSWORD`` (basic auth) or ``MLFLOW_TRACKING_TOKEN`` (bearer token) from the
environment, which a pipeline fills from a Kubernetes secret (kfp-kubernetes
``use_secret_as_env``). An unreachable server is retried ``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` times
(MLflow's default: 7, with exponential backoff) before the step fails.

Sources, mlflow 3.17.2: ``mlflow/environment_variables.py`` (``MLFLOW_TRACKING_USERNAME``,
``MLFLOW_TRACKING_PASSWORD``, ``MLFLOW_TRACKING_TOKEN``; ``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` 7 and
``MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR`` 2) and ``mlflow/utils/rest_utils.py``
(``http_request``: Basic when username and password are set, else Bearer with the token).
"""

import dataclasses
import posixpath
import re
import urllib.parse

import sqlalchemy.engine
import sqlalchemy.exc
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from kfp_mlops.components.common.errors import ComponentInputError, ExternalSystemError
from kfp_mlops.components.common.uris import check_no_credentials

# mlflow 3.17.2 utils/validation.py: _REGISTERED_MODEL_ALIAS_REGEX, _REGISTERED_MODEL_ALIAS_LATEST,
# _REGISTERED_MODEL_ALIAS_VERSION_REGEX and MAX_REGISTERED_MODEL_ALIAS_LENGTH, as checked by
# _validate_model_alias_name and _validate_model_alias_name_reserved.
_ALIAS = re.compile(r"^[\w-]+$")
_VERSION_ALIAS = re.compile(r"^[vV]\d+$")
_MAX_ALIAS_LENGTH = 255
_REASON_LENGTH = 500


@dataclasses.dataclass(frozen=True)
class RegisteredVersion:
    """One version of a registered model, with the metrics of the run that logged it.

    Attributes:
        name: The registered model's name.
        version: The version number, as MLflow's APIs take it (``"3"``).
        model_uri: ``models:/<name>/<version>``, loadable with ``mlflow.pyfunc.load_model``.
        run_id: The MLflow run that logged the model, or None for a version made without a run.
        aliases: Every alias that points at this version.
        tags: The version's tags (dataset fingerprints, KFP run...).
        metrics: The latest value of each metric of ``run_id`` (empty without a run).
    """

    name: str
    version: str
    model_uri: str
    run_id: str | None
    aliases: list[str]
    tags: dict[str, str]
    metrics: dict[str, float]


def hide_password(text: str, uri: str) -> str:
    """``text`` with the password of ``uri`` (``scheme://user:password@host``) shown as ``***``."""
    password = urllib.parse.urlsplit(uri).password
    return text.replace(f":{password}@", ":***@") if password else text


def model_uri(name: str, version: str) -> str:
    """The URI of one registered model version: ``models:/<name>/<version>``."""
    return f"models:/{name}/{version}"


def check_registered_model_name(name: str) -> None:
    """Refuses a registered model name MLflow would refuse, before any run is logged.

    The rule is mlflow 3.17.2 ``utils/validation.py``, ``_validate_model_name``: not blank, no
    ``/`` or ``:``, and not ``path_not_unique`` (``posixpath.normpath(name)`` differs from the
    name, is ``.``, or starts with ``..`` or ``/``); without ``/`` that leaves ``.`` and names
    starting with ``..``.

    Raises:
        ComponentInputError: The name is empty, holds ``/`` or ``:`` (which would break the
            ``models:/<name>/<version>`` URI), is ``.`` or starts with ``..``.
    """
    if not name.strip():
        raise ComponentInputError("registered_model_name is empty")
    if "/" in name or ":" in name:
        raise ComponentInputError(
            f"registered_model_name {name!r} is invalid: "
            "MLflow model names cannot contain '/' or ':'"
        )
    normalized = posixpath.normpath(name)
    if normalized != name or normalized == "." or normalized.startswith(".."):
        raise ComponentInputError(
            f"registered_model_name {name!r} is invalid: MLflow refuses '.' and names starting "
            "with '..' (they would resolve to another path)"
        )


def check_alias(alias: str) -> None:
    """Refuses an alias MLflow would refuse.

    Raises:
        ComponentInputError: The alias is not made of letters, digits, ``_`` and ``-``, is longer
            than 255 characters, or it is reserved (``latest``, or ``v<number>`` which names a
            version).
    """
    if not _ALIAS.match(alias):
        raise ComponentInputError(
            f"alias {alias!r} is invalid: use letters, digits, '_' and '-' only (e.g. challenger)"
        )
    if len(alias) > _MAX_ALIAS_LENGTH:
        raise ComponentInputError(
            f"alias {alias[:20]!r}... is {len(alias)} characters long: MLflow allows at most "
            f"{_MAX_ALIAS_LENGTH}"
        )
    if alias.lower() == "latest" or _VERSION_ALIAS.match(alias):
        raise ComponentInputError(
            f"alias {alias!r} is reserved by MLflow ('latest' and 'v<number>'); choose another"
        )


def sqlite_database(tracking_uri: str) -> str | None:
    """The database file of a ``sqlite:///<path>`` URI, or None when the URI is not SQLite."""
    if not tracking_uri.startswith("sqlite:"):
        return None
    database = sqlalchemy.engine.make_url(tracking_uri).database
    if not database or database == ":memory:":
        raise ComponentInputError(
            f"MLflow tracking URI {tracking_uri!r} names no database file; an in-memory store "
            "forgets everything when the step ends: use sqlite:///<folder>/mlflow.db"
        )
    return database


def _reason(error: BaseException) -> str:
    """The first line of an error's message, cut to a length that reads well in a log line."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    reason = lines[0]
    if len(reason) > _REASON_LENGTH:
        reason = reason[: _REASON_LENGTH - 3] + "..."
    return reason


def _is_unavailable(error: BaseException) -> bool:
    """Whether the store failed to answer rather than the URI being wrong.

    Failing to answer: the network, a gateway or unavailable server, a locked database. A wrong URI:
    an unknown scheme, a server that is not MLflow.
    """
    if isinstance(error, OSError | sqlalchemy.exc.OperationalError):
        return True
    if isinstance(error, MlflowException):
        # mlflow 3.17 utils/rest_utils.py: a request that exhausted its retries raises
        # MlflowException whose message starts "API request to ... failed with exception".
        return error.get_http_status_code() in (502, 503, 504) or (
            "failed with exception" in error.message
        )
    return False


def connect(tracking_uri: str) -> MlflowClient:
    """A client for ``tracking_uri`` (and its model registry), after checking both answer.

    Args:
        tracking_uri: ``sqlite:///<path>`` (the folder is created when missing), or the
            ``http(s)://`` address of an MLflow tracking server.

    Raises:
        ComponentInputError: The URI is empty, carries a credential (``user:password@``, a secret
            query key: they belong in the environment), is unsupported, refuses the credentials or
            is not an MLflow store; the message names the URI (password hidden).
        ExternalSystemError: The store does not answer (unreachable, a server error, a locked
            database); retrying later may help.
    """
    if not tracking_uri.strip():
        raise ComponentInputError(
            "MLflow tracking URI is empty: give sqlite:///<folder>/mlflow.db or the http(s):// "
            "address of a tracking server"
        )
    check_no_credentials(tracking_uri, "MLflow tracking URI")
    try:
        sqlite_database(tracking_uri)
        client = MlflowClient(tracking_uri=tracking_uri)
        client.search_experiments(max_results=1)
        client.search_registered_models(max_results=1)
    except (MlflowException, sqlalchemy.exc.SQLAlchemyError, OSError, ImportError) as error:
        message = hide_password(
            f"cannot use MLflow tracking URI {tracking_uri!r}: {_reason(error)}", tracking_uri
        )
        if _is_unavailable(error):
            raise ExternalSystemError(message) from error
        raise ComponentInputError(message) from error
    return client


def _registered_version(client: MlflowClient, name: str, version: str) -> RegisteredVersion:
    found = client.get_model_version(name, version)
    metrics = client.get_run(found.run_id).data.metrics if found.run_id else {}
    return RegisteredVersion(
        name=name,
        version=str(found.version),
        model_uri=model_uri(name, str(found.version)),
        run_id=found.run_id or None,
        aliases=list(found.aliases),
        tags=dict(found.tags),
        metrics=dict(metrics),
    )


def version_with_alias(tracking_uri: str, name: str, alias: str) -> RegisteredVersion | None:
    """The version of registered model ``name`` that ``alias`` points at, with its run's metrics.

    Returns:
        The version, or None when the model is not registered yet or the alias is not set (the
        first run of a champion/challenger pipeline has no champion).

    Raises:
        ComponentInputError: The tracking URI, the name or the alias is invalid.
    """
    check_registered_model_name(name)
    check_alias(alias)
    client = connect(tracking_uri)
    try:
        registered = client.get_registered_model(name)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    version = registered.aliases.get(alias)
    if version is None:
        return None
    return _registered_version(client, name, str(version))


def set_alias(tracking_uri: str, name: str, alias: str, version: str) -> RegisteredVersion:
    """Points ``alias`` of registered model ``name`` at ``version``, moving it from any other.

    Returns:
        The version the alias now points at.

    Raises:
        ComponentInputError: The tracking URI, the name or the alias is invalid, or the model or
            version does not exist.
    """
    check_registered_model_name(name)
    check_alias(alias)
    return set_alias_with(connect(tracking_uri), name, alias, version)


def set_alias_with(client: MlflowClient, name: str, alias: str, version: str) -> RegisteredVersion:
    """:func:`set_alias` with a client already connected (see :func:`connect`)."""
    try:
        client.set_registered_model_alias(name, alias, version)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise ComponentInputError(
                f"cannot set alias {alias!r}: registered model {name!r} has no version "
                f"{version!r} ({_reason(error)})"
            ) from error
        raise
    return _registered_version(client, name, version)

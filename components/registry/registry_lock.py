"""A lock in the MLflow registry, so that alias moves of one registered model happen one at a time.

MLflow has no compare-and-set on aliases or tags: ``set_registered_model_alias`` overwrites. What it
does refuse atomically is a second registered model with the same name: the SQL store
(``mlflow/store/model_registry/sqlalchemy_store.py``, ``create_registered_model``, mlflow 3.17.2)
inserts into ``registered_models``, whose primary key is (workspace, name), and turns the
``IntegrityError`` into ``RESOURCE_ALREADY_EXISTS``, and so does a tracking server backed by a
database. So holding the lock is having created the registered model ``<name>.kfp-mlops-lock``, and
releasing it is deleting that model.

Not atomic on MLflow's file store (a local folder or ``file://`` URI, or a server started on one):
its ``create_registered_model`` checks that the name is free, then creates the folder with
``exist_ok=True`` (mlflow 3.17.2 ``store/model_registry/file_store.py`` and
``utils/file_utils.py``, ``mkdir``), so two contenders at the same instant can both take the lock.
Runs that may promote at the same time need a database-backed store.

The lock records its holder and an expiry (tags). A holder that died (a killed step) leaves it
behind; once expired, the next contender deletes it and takes its place. Two contenders that both
find the same expired lock may both delete it; the creation timestamp is re-read just before the
delete, so only a lock that is still the expired one is removed, leaving a window of one read.
"""

import contextlib
import os
import socket
import time
import uuid
from collections.abc import Iterator

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from kfp_mlops.components.common.errors import ComponentInputError

LOCK_SUFFIX = ".kfp-mlops-lock"
HOLDER_TAG = "kfp_mlops.lock.holder"
EXPIRES_TAG = "kfp_mlops.lock.expires"
LEASE_SECONDS = 300.0
"""How long a lock stays valid: far longer than the few alias moves it guards."""
WAIT_SECONDS = 60.0
"""How long a contender waits for the lock before giving up."""
_POLL_SECONDS = 0.2


def lock_name(registered_model_name: str) -> str:
    """The registered model whose existence is the lock of ``registered_model_name``."""
    return f"{registered_model_name}{LOCK_SUFFIX}"


def _try_create(client: MlflowClient, name: str, holder: str, lease: float) -> bool:
    try:
        client.create_registered_model(
            name,
            tags={HOLDER_TAG: holder, EXPIRES_TAG: f"{time.time() + lease:.3f}"},
            description="kfp-mlops: held while a promotion or rollback moves aliases",
        )
    except MlflowException as error:
        if error.error_code == "RESOURCE_ALREADY_EXISTS":
            return False
        raise
    return True


def _remove_if_expired(client: MlflowClient, name: str) -> str | None:
    """Deletes the lock if it expired; returns its holder while it is valid."""
    try:
        found = client.get_registered_model(name)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    expires = float(found.tags.get(EXPIRES_TAG, "0") or 0)
    if time.time() < expires:
        return found.tags.get(HOLDER_TAG, "unknown")
    try:
        if client.get_registered_model(name).creation_timestamp == found.creation_timestamp:
            client.delete_registered_model(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
    return None


@contextlib.contextmanager
def registry_lock(
    client: MlflowClient,
    registered_model_name: str,
    purpose: str,
    wait: float | None = None,
    lease: float | None = None,
) -> Iterator[str]:
    """Holds the lock of ``registered_model_name`` meanwhile; yields the holder's id.

    ``wait`` and ``lease`` default to :data:`WAIT_SECONDS` and :data:`LEASE_SECONDS`.

    Raises:
        ComponentInputError: Another holder kept it for ``wait`` seconds (named in the message).
    """
    wait = WAIT_SECONDS if wait is None else wait
    lease = LEASE_SECONDS if lease is None else lease
    name = lock_name(registered_model_name)
    holder = f"{purpose} by {socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + wait
    while not _try_create(client, name, holder, lease):
        other = _remove_if_expired(client, name)
        if other is not None and time.monotonic() >= deadline:
            raise ComponentInputError(
                f"another process holds the promotion lock of {registered_model_name!r} "
                f"({other}) for more than {wait:.0f} s; nothing moved: try again later, or delete "
                f"the registered model {name!r} if that process is gone"
            )
        if other is not None:
            time.sleep(_POLL_SECONDS)
    try:
        yield holder
    finally:
        with contextlib.suppress(MlflowException):
            client.delete_registered_model(name)

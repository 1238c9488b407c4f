"""Create, read, patch, delete and watch custom objects through the official kubernetes client.

The shared part is :class:`CustomObjects` (calls with retries, the informer-style watch loop):
:class:`InferenceServices` subclasses it for KServe, and the training stage's ``TrainJobs`` for
Kubeflow Trainer.

Credentials are never parameters. Inside a cluster (``KUBERNETES_SERVICE_HOST`` is set) the pod's
service account token is used, and the namespace defaults to the pod's own; elsewhere the
kubeconfig named by ``KUBECONFIG`` (or ``~/.kube/config``) and its current context are.

The API server's refusals become one-line errors a person can act on: 403 names the verb, the
resource and the namespace the service account lacks (and the RBAC manifest that grants them),
401 says the credentials were refused, 404 on the resource type says KServe is not installed, 422
quotes the server's validation message. A 409 Conflict is :class:`Conflict`, which callers retry
after reading the object again.

Transient failures are retried here, with bounded exponential back-off (:data:`RETRIES` retries,
:data:`BACKOFF` seconds doubling up to :data:`BACKOFF_MAX`, or the server's ``Retry-After`` when it
is shorter than that): the answers the API server gives when it is overloaded or restarting (429
Too Many Requests from API priority and fairness, 500, 502, 503, 504) and a connection that was
refused, reset or cut mid-answer. Retrying a write is safe because every patch the rollout sends
carries the ``resourceVersion`` it was computed from: a patch that landed before the connection
broke comes back as a 409 Conflict, which the caller resolves by reading the object again. A watch
that fails the same way is listed and watched again, as an informer does.
"""

import abc
import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import urllib3.exceptions
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from kfp_mlops.components.common.errors import (
    ComponentError,
    ComponentInputError,
    ExternalSystemError,
)

GROUP = "serving.kserve.io"
VERSION = "v1beta1"
PLURAL = "inferenceservices"
RESOURCE = f"{PLURAL}.{GROUP}"
RBAC_MANIFEST = "manifests/rbac.yaml"
IN_CLUSTER_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
REQUEST_TIMEOUT = 30.0
"""Seconds one API request (other than a watch) may take."""
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
"""HTTP statuses retried: the API server overloaded (429) or failing for a while (5xx)."""
RETRIES = 4
"""Retries after the first attempt of one request (or consecutive failures of a watch)."""
BACKOFF = 0.5
"""Seconds before the first retry; doubled for each further one."""
BACKOFF_MAX = 8.0
"""The longest wait between two attempts."""


class Conflict(Exception):
    """The API server answered 409: the object changed since it was read, or already exists."""


@dataclasses.dataclass(frozen=True)
class Cluster:
    """A configured API client and the namespace used when none is given."""

    api_client: client.ApiClient
    default_namespace: str
    source: str


def _kubeconfig_paths() -> list[Path]:
    value = os.environ.get("KUBECONFIG", "")
    paths = [Path(item).expanduser() for item in value.split(os.pathsep) if item]
    return paths or [Path("~/.kube/config").expanduser()]


def connect(kubeconfig: str | None = None, context: str | None = None) -> Cluster:
    """The cluster this process may talk to: in-cluster service account, else a kubeconfig.

    Args:
        kubeconfig: A kubeconfig file to use instead of ``KUBECONFIG``/``~/.kube/config``.
        context: A kubeconfig context other than the current one.

    Raises:
        ComponentInputError: No configuration is found, or it cannot be loaded.
    """
    configuration = client.Configuration()
    if kubeconfig is None and context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException as error:
            raise ComponentInputError(
                f"cannot use the in-cluster Kubernetes config: {error}"
            ) from None
        namespace = IN_CLUSTER_NAMESPACE_FILE.read_text(encoding="utf-8").strip()
        return Cluster(client.ApiClient(configuration), namespace, "in-cluster service account")
    paths = [Path(kubeconfig).expanduser()] if kubeconfig else _kubeconfig_paths()
    existing = [path for path in paths if path.is_file()]
    if not existing:
        raise ComponentInputError(
            "no Kubernetes configuration: not running in a cluster (KUBERNETES_SERVICE_HOST is "
            f"unset) and no kubeconfig at {os.pathsep.join(str(path) for path in paths)}"
        )
    # kubernetes 30.1.0 config/kube_config.py: load_kube_config splits config_file on
    # ENV_KUBECONFIG_PATH_SEPARATOR (os.pathsep's ':' or ';') and merges them (KubeConfigMerger).
    joined = os.pathsep.join(str(path) for path in existing)
    try:
        config.load_kube_config(
            config_file=joined,
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
        contexts, active = config.list_kube_config_contexts(config_file=joined)
    except (config.ConfigException, OSError, ValueError) as error:
        raise ComponentInputError(f"cannot use kubeconfig {joined}: {error}") from None
    chosen = next((item for item in contexts if item["name"] == context), active) or {}
    namespace = chosen.get("context", {}).get("namespace") or "default"
    return Cluster(client.ApiClient(configuration), namespace, f"kubeconfig {joined}")


def status_message(error: ApiException) -> str:
    """The ``message`` of the API server's Status body, or the HTTP reason."""
    try:
        body = json.loads(error.body or "")
    except (TypeError, ValueError):
        body = None
    if isinstance(body, dict) and body.get("message"):
        return " ".join(str(body["message"]).split())
    return str(error.reason or "no message")


def is_missing_resource_type(error: ApiException, name: str | None) -> bool:
    """A 404 about the resource type itself (its CRD absent), not about the object ``name``."""
    try:
        details = json.loads(error.body or "").get("details") or {}
    except (TypeError, ValueError, AttributeError):
        return True
    return name is None or details.get("name") != name


def is_transient(error: Exception) -> bool:
    """A failure worth retrying: 429/5xx, or the connection refused, reset or cut short."""
    if isinstance(error, ApiException):
        return error.status in TRANSIENT_STATUSES
    return isinstance(
        error,
        urllib3.exceptions.ProtocolError
        | urllib3.exceptions.MaxRetryError
        | urllib3.exceptions.NewConnectionError
        | urllib3.exceptions.TimeoutError,
    )


def backoff(attempt: int, error: Exception) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based) after ``error``."""
    delay = min(BACKOFF * 2**attempt, BACKOFF_MAX)
    headers = getattr(error, "headers", None) or {}
    try:
        retry_after = float(headers.get("Retry-After", ""))
    except (TypeError, ValueError):
        return delay
    return min(max(retry_after, 0.0), delay)


def with_retries(function: Callable[[], dict]) -> dict:
    """Calls ``function``, retrying transient failures (:func:`is_transient`) with back-off."""
    for attempt in range(RETRIES + 1):
        try:
            return function()
        except (ApiException, urllib3.exceptions.HTTPError) as error:
            if attempt == RETRIES or not is_transient(error):
                raise
            time.sleep(backoff(attempt, error))
    raise AssertionError("unreachable")  # the loop returns or raises


class CustomObjects(abc.ABC):
    """The objects of one custom resource in one namespace: calls with retries, list and watch.

    Subclasses name the resource (:attr:`group`, :attr:`version`, :attr:`plural`, :attr:`kind`)
    and say how a refusal reads (:meth:`_fail`); the calls, the retries and the watch loop
    (:meth:`wait_for`) are this class's, shared by the deployment and training stages.
    """

    group: str
    version: str
    plural: str
    kind: str

    def __init__(self, cluster: Cluster, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.api = client.CustomObjectsApi(cluster.api_client)

    @property
    def resource(self) -> str:
        """``plural.group``, as RBAC rules and kubectl name the resource."""
        return f"{self.plural}.{self.group}"

    @abc.abstractmethod
    def _fail(self, error: ApiException, verb: str, name: str | None) -> ComponentError:
        """The one-line error for the API server's refusal to ``verb`` ``name``."""

    def _unreachable(self, error: urllib3.exceptions.HTTPError, verb: str) -> ComponentError:
        """The one-line error for an API server that cannot be reached."""
        return ExternalSystemError(
            f"cannot reach the Kubernetes API at {self.cluster.api_client.configuration.host} "
            f"to {verb} {self.resource}: {error}"
        )

    def _call(self, verb: str, name: str | None, function: Callable[[], dict]) -> dict:
        """``function()`` with retries (:func:`with_retries`); 409 is :class:`Conflict`."""
        try:
            return with_retries(function)
        except ApiException as error:
            if error.status == 409:
                raise Conflict(status_message(error)) from None
            raise self._fail(error, verb, name) from None
        except urllib3.exceptions.HTTPError as error:
            raise self._unreachable(error, verb) from None

    def list_one(self, name: str) -> tuple[dict | None, str]:
        """The object ``name`` (None if absent) and the list's resourceVersion."""
        listing = self._call(
            "list",
            None,
            lambda: self.api.list_namespaced_custom_object(
                self.group,
                self.version,
                self.namespace,
                self.plural,
                field_selector=f"metadata.name={name}",
                _request_timeout=REQUEST_TIMEOUT,
            ),
        )
        items = listing.get("items") or []
        return (items[0] if items else None), listing["metadata"]["resourceVersion"]

    def wait_for(
        self,
        name: str,
        done: Callable[[dict], bool],
        timeout: float,
        poll: float | None = None,
        observe: Callable[[dict], None] | None = None,
    ) -> tuple[dict | None, bool]:
        """Watches ``name`` until ``done(object)`` is true or ``timeout`` seconds have passed.

        As an informer does: list to get the object and a resourceVersion, watch from there, and
        list again when the watch ends or its resourceVersion has expired (410 Gone); a watch
        failing transiently (:func:`is_transient`) is listed and watched again after a back-off,
        up to :data:`RETRIES` times in a row.

        Args:
            name: The object.
            done: True for the version of the object that ends the wait.
            timeout: The most seconds to wait.
            poll: When given, no watch request lasts longer than this, so ``observe`` runs at
                least this often.
            observe: Called with the object before every watch request and when it is done.

        Returns:
            The last version of the object seen (None if it does not exist) and whether ``done``
            became true.

        Raises:
            ComponentInputError: The object was deleted meanwhile.
            ComponentError: The API refused the call (:meth:`_fail`) or could not be reached.
        """
        deadline = time.monotonic() + timeout
        current, version = self.list_one(name)
        failures = 0
        while True:
            if current is not None:
                if observe is not None:
                    observe(current)
                if done(current):
                    return current, True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return current, False
            seconds = remaining if poll is None else min(poll, remaining)
            watcher = watch.Watch()
            try:
                for event in watcher.stream(
                    self.api.list_namespaced_custom_object,
                    self.group,
                    self.version,
                    self.namespace,
                    self.plural,
                    field_selector=f"metadata.name={name}",
                    resource_version=version,
                    timeout_seconds=max(1, math.ceil(seconds)),
                    _request_timeout=seconds + REQUEST_TIMEOUT,
                ):
                    if event["type"] == "DELETED":
                        raise ComponentInputError(
                            f"{self.kind} {self.namespace}/{name} was deleted while waiting for it"
                        )
                    if event["type"] in ("ADDED", "MODIFIED"):
                        failures = 0
                        current = event["raw_object"]
                        version = current["metadata"]["resourceVersion"]
                        if done(current):
                            break
            except ApiException as error:
                if error.status == 410:
                    # kubernetes 30.1.0 watch/watch.py, Watch.stream: with timeout_seconds set it
                    # does not retry a 410 ERROR event itself and raises ApiException(status=410).
                    current, version = self.list_one(name)  # expired: list again
                    continue
                if not is_transient(error) or failures == RETRIES:
                    raise self._fail(error, "watch", name) from None
                time.sleep(backoff(failures, error))
                failures += 1
                current, version = self.list_one(name)
            except urllib3.exceptions.ReadTimeoutError:
                pass  # the watch outlived its deadline: the loop re-checks it
            except urllib3.exceptions.HTTPError as error:
                if not is_transient(error) or failures == RETRIES:
                    raise self._unreachable(error, "watch") from None
                time.sleep(backoff(failures, error))
                failures += 1
                current, version = self.list_one(name)
            finally:
                watcher.stop()


class InferenceServices(CustomObjects):
    """The InferenceServices of one namespace."""

    group = GROUP
    version = VERSION
    plural = PLURAL
    kind = "InferenceService"

    def _fail(self, error: ApiException, verb: str, name: str | None) -> ComponentError:
        """The one-line error for an API refusal.

        400 and 422 (a request or manifest the server refuses) are bad input; the rest (credentials,
        permissions, KServe missing, server errors) the cluster's.
        """
        target = f"{RESOURCE} {name!r}" if name else RESOURCE
        message = status_message(error)
        if error.status == 401:
            return ExternalSystemError(
                f"the Kubernetes API ({self.cluster.source}) refused the credentials (401 "
                f"Unauthorized) to {verb} {target}: {message}"
            )
        if error.status == 403:
            return ExternalSystemError(
                f"missing permission: {verb} {RESOURCE} in namespace {self.namespace!r} (403 "
                f"Forbidden: {message}); grant it with {RBAC_MANIFEST} "
                f"(kubectl apply -n {self.namespace} -f {RBAC_MANIFEST})"
            )
        if error.status == 404 and is_missing_resource_type(error, name):
            return ExternalSystemError(
                f"the cluster has no {RESOURCE} resource (404 on {verb}): KServe is not installed "
                f"or namespace {self.namespace!r} does not exist: {message}"
            )
        if error.status == 400:
            return ComponentInputError(
                f"the API server refused to {verb} {target} (400 Bad Request): {message}"
            )
        if error.status == 422:
            return ComponentInputError(
                f"the API server refused to {verb} {target} (422 Invalid): {message}"
            )
        return ExternalSystemError(
            f"the Kubernetes API answered {error.status} to {verb} {target} in namespace "
            f"{self.namespace!r}: {message}"
        )

    def get(self, name: str) -> dict | None:
        """The InferenceService ``name``, or None when there is none."""
        try:
            return with_retries(
                lambda: self.api.get_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, PLURAL, name, _request_timeout=REQUEST_TIMEOUT
                )
            )
        except ApiException as error:
            if error.status == 404 and not is_missing_resource_type(error, name):
                return None
            raise self._fail(error, "get", name) from None
        except urllib3.exceptions.HTTPError as error:
            raise self._unreachable(error, "get") from None

    def create(self, body: dict) -> dict:
        """Creates the InferenceService ``body``; :class:`Conflict` when it already exists."""
        name = body["metadata"]["name"]
        return self._call(
            "create",
            name,
            lambda: self.api.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, body, _request_timeout=REQUEST_TIMEOUT
            ),
        )

    def patch(self, name: str, patch: dict) -> dict:
        """Applies a JSON merge patch (RFC 7386); :class:`Conflict` on a stale resourceVersion.

        kubernetes 30.1.0 ``client/api/custom_objects_api.py``,
        ``patch_namespaced_custom_object_with_http_info``, sends ``application/merge-patch+json``;
        the 409 on a stale ``metadata.resourceVersion`` is the API server's optimistic concurrency.
        """
        return self._call(
            "patch",
            name,
            lambda: self.api.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                name,
                patch,
                _request_timeout=REQUEST_TIMEOUT,
            ),
        )

"""An in-process HTTP server answering as the Kubernetes API server does for InferenceServices.

It serves ``/apis/serving.kserve.io/v1beta1/namespaces/NS/inferenceservices[/NAME]`` over plain
HTTP on 127.0.0.1 and behaves as the real API server does for this custom resource:

- bearer-token authentication (401 otherwise) and authorization per namespace and verb, as a
  namespaced Role bound in one namespace grants it (403 with the API server's message:
  ``User "..." cannot patch resource "inferenceservices" in API group ... in the namespace "NS"``);
- get (404 NotFound with ``details.name``), list with ``fieldSelector=metadata.name=X``, watch
  (``watch=true``: newline-delimited events, held open until ``timeoutSeconds``; from a
  ``resourceVersion`` N the events after N, from ``0`` or none a synthetic ADDED event for each
  object as it is now and then the changes, never the history: the watch cache of
  ``k8s.io/apiserver/pkg/storage/cacher`` (kubernetes 1.30, ``cacher.go`` and
  ``watch_cache.go``: ``resourceVersion=0`` "starts at any" with the current state); 410 Expired
  "too old resource version" for a resourceVersion older than the kept history (:meth:`compact`)),
  create (409 AlreadyExists), JSON merge patch (RFC 7386; 409 Conflict when the patch carries a
  stale ``metadata.resourceVersion``; 415 for other patch types; a patch changing
  ``metadata.name`` or ``metadata.namespace`` is refused with 400 BadRequest "the name of the
  object (X) does not match the name on the URL (Y)", as ``checkName`` in
  ``k8s.io/apiserver/pkg/endpoints/handlers/rest.go`` does after ``patch.go`` applied the patch,
  and one changing ``metadata.uid`` or ``metadata.creationTimestamp`` with 422 "field is
  immutable", as ``ValidateObjectMetaUpdate`` in ``k8s.io/apimachinery/pkg/api/validation/
  objectmeta.go`` does);
- ``resourceVersion`` increasing on every write, ``generation`` on every spec change, status kept
  apart from spec (a subresource: create and patch ignore it);
- schema validation of every created or patched object against the CRD's v1beta1
  openAPIV3Schema (422 Invalid naming the field), strict about unknown fields.

A small stand-in for the KServe controller (Serverless mode) writes the status, AFTER the write and
never inside it: a create or patch answers with the status as it was (the previous generation's
``Ready=True``, ``observedGeneration`` behind ``metadata.generation``), and the controller observes
the new generation only ``reconcile_after`` seconds later, as the real one does from its informer
(KServe ``pkg/apis/serving/v1beta1/inference_service_status.go``, ``PropagateStatus``: the
InferenceService's ``observedGeneration`` is copied from the Knative Service's, so until Knative
has seen the new spec the status is the old revision's). Revisions of an earlier generation that
become ready in that window change the status under the old ``observedGeneration``, which a
rollout must not take for its own. Each change of the predictor (other than
``canaryTrafficPercent``) observed by the controller is a new revision ``NAME-predictor-0000N``
that becomes ready after ``ready_after`` seconds, or never does, or fails, as the test asks
(:class:`Behaviour`); traffic is split as KServe splits it (``canaryTrafficPercent`` to the latest
ready revision, the rest to the last rolled-out one; 100 % to the latest when it is unset), with
``latest``/``prev`` tag URLs. Each revision's URL is the one the test maps its storageUri to
(:attr:`Behaviour.endpoints`), so a smoke request reaches a real model server.

Not covered (see the README section): TLS and client certificates, other authentication schemes,
server-side apply, strategic merge and JSON patch, admission webhooks (KServe's defaulting and
validation), field selectors other than ``metadata.name``, label selectors, pagination, watch
bookmarks, deletion and finalizers, ServingRuntime selection, Knative/Istio networking and DNS,
real pods, image pulls, storage initializers and autoscaling.
Imported as ``deployment.fake_kube_api`` (pytest puts tests/ on the path).
"""

import contextlib
import copy
import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml
from deployment import crd

GROUP = "serving.kserve.io"
VERSION = "v1beta1"
PLURAL = "inferenceservices"
PREFIX = f"/apis/{GROUP}/{VERSION}/namespaces/"
VERBS = frozenset({"get", "list", "watch", "create", "patch"})
TOKEN = "fake-token-for-tests"
USER = "system:serviceaccount:kubeflow:pipeline-runner"
UNSUPPORTED_PATCH = (
    "the body of the request was in an unknown format - accepted media types include: "
    "application/merge-patch+json"
)


@dataclasses.dataclass
class Behaviour:
    """How the stand-in controller treats new revisions.

    Attributes:
        ready_after: Seconds until a new revision is ready.
        reconcile_after: Seconds between a write and the controller observing it: the window in
            which the status is the previous generation's.
        never_ready: Storage URIs whose revisions never become ready (Ready stays Unknown).
        failing: Storage URIs whose revisions fail: Ready becomes False (RevisionFailed).
        load_failing: Storage URIs whose model fails to load (modelStatus BlockedByFailedLoad).
        endpoints: Storage URI to the base URL its revisions answer at.
    """

    ready_after: float = 0.2
    reconcile_after: float = 0.15
    never_ready: set[str] = dataclasses.field(default_factory=set)
    failing: set[str] = dataclasses.field(default_factory=set)
    load_failing: set[str] = dataclasses.field(default_factory=set)
    endpoints: dict[str, str] = dataclasses.field(default_factory=dict)


REASONS = {
    404: "NotFound",
    429: "TooManyRequests",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@dataclasses.dataclass
class Fault:
    """A failure the server answers with instead of serving a request (see :attr:`faults`).

    Attributes:
        verb: ``get``, ``list``, ``watch``, ``create`` or ``patch``.
        answer: An HTTP status (a Status body with the API server's reason for it; 429 with
            ``Retry-After: 1`` as API priority and fairness sends it), or ``"reset"``: the
            connection is closed without an answer (a restarting API server or a dropped proxy).
        times: How many matching requests fail.
        skip: How many matching requests are served before the first failure.
    """

    verb: str
    answer: int | str
    times: int = 1
    skip: int = 0


@dataclasses.dataclass
class Revision:
    """A Knative revision of the predictor: its name, template and state."""

    name: str
    template: dict
    state: str = "pending"  # pending, ready, failed, load-failed

    @property
    def storage_uri(self) -> str:
        return self.template["model"]["storageUri"]


def _status(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return body


def merge(target: object, patch: object) -> object:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


class ApiError(Exception):
    def __init__(self, status: dict) -> None:
        super().__init__(status["message"])
        self.status = status


class FakeKubeApi:
    """The store, the stand-in controller and the HTTP server (see the module docstring).

    Attributes:
        grants: Namespace to the verbs the caller's service account may use there (a Role
            bound in that namespace); :attr:`allowed` is the ``models`` namespace's.
        behaviour: How new revisions behave.
        namespaces: Namespaces that exist (``staging`` exists but grants nothing).
        requests: Every request received, as ``(method, path and query, content type)``.
        patches: Every patch body received, in order.
        conflict_next_patches: That many coming patches answer 409 (another client won the race).
        expire_next_watches: That many coming watches answer 410 Expired (a compacted
            resourceVersion), as after an etcd compaction.
        crd_installed: False answers every request 404, as a cluster without KServe does.
        faults: Failures to answer with (:class:`Fault`), tried in order for each request.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._timers: list[threading.Timer] = []
        self.reset()

    def reset(self) -> None:
        """Forgets every object, request and setting (between tests sharing one server)."""
        with self._changed:
            for timer in self._timers:
                timer.cancel()
            self._reset()

    def _reset(self) -> None:
        self.grants: dict[str, set[str]] = {"models": set(VERBS), "default": set(VERBS)}
        self.behaviour = Behaviour()
        self.namespaces = {"models", "default", "staging"}
        self.requests: list[tuple[str, str, str]] = []
        self.patches: list[dict] = []
        self.conflict_next_patches = 0
        self.expire_next_watches = 0
        self.crd_installed = True
        self.faults: list[Fault] = []
        self._objects: dict[tuple[str, str], dict] = {}
        self._revisions: dict[tuple[str, str], list[Revision]] = {}
        self._events: list[tuple[int, str, str, str, dict]] = []  # rv, type, ns, name, object
        self._compacted = 0  # events up to this resourceVersion are forgotten
        self._observed: dict[tuple[str, str], dict] = {}  # what the controller last saw
        self._rv = getattr(self, "_rv", 1000)  # never goes back: old watchers stay consistent
        self._timers = []

    @property
    def allowed(self) -> set[str]:
        """The verbs granted in the ``models`` namespace (discard one to take it away)."""
        return self.grants.setdefault("models", set())

    def compact(self) -> int:
        """Forgets the event history up to now, as an etcd compaction does; returns that version.

        A watch from an older resourceVersion then answers 410 Expired.
        """
        with self._changed:
            self._compacted = self._rv
            self._events = []
            return self._compacted

    def fault_for(self, verb: str) -> Fault | None:
        """The fault the next ``verb`` request is answered with, if any (and counts it)."""
        with self._changed:
            for fault in self.faults:
                if fault.verb != verb or fault.times <= 0:
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.times -= 1
                return fault
            return None

    # ----- the store -----------------------------------------------------------------------
    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _record(self, kind: str, obj: dict) -> None:
        meta = obj["metadata"]
        self._events.append(
            (
                int(meta["resourceVersion"]),
                kind,
                meta["namespace"],
                meta["name"],
                copy.deepcopy(obj),
            )
        )
        self._changed.notify_all()

    def stored(self, namespace: str, name: str) -> dict | None:
        """A copy of the stored object."""
        with self._changed:
            found = self._objects.get((namespace, name))
            return copy.deepcopy(found)

    def put(self, manifest: dict) -> dict:
        """Stores an InferenceService as if created earlier; its first revision is ready at once
        unless the behaviour says its storageUri never becomes ready or fails."""
        with self._changed:
            obj = self._store_new(copy.deepcopy(manifest))
            key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
            self._observe(key, settle_now=True)
            return copy.deepcopy(self._objects[key])

    def revisions(self, namespace: str, name: str) -> list[Revision]:
        with self._changed:
            return [
                dataclasses.replace(item) for item in self._revisions.get((namespace, name), [])
            ]

    def _authorize(self, verb: str, namespace: str, name: str | None) -> None:
        if verb in self.grants.get(namespace, ()):
            return
        target = (
            f'{PLURAL}.{GROUP} "{name}" is forbidden' if name else f"{PLURAL}.{GROUP} is forbidden"
        )
        raise ApiError(
            _status(
                403,
                "Forbidden",
                f'{target}: User "{USER}" cannot {verb} resource "{PLURAL}" in API group '
                f'"{GROUP}" in the namespace "{namespace}"',
                {"name": name, "group": GROUP, "kind": PLURAL}
                if name
                else {"group": GROUP, "kind": PLURAL},
            )
        )

    def _validate(self, obj: dict) -> None:
        name = obj.get("metadata", {}).get("name", "")
        problems = crd.errors({key: value for key, value in obj.items() if key != "status"})
        if problems:
            raise ApiError(
                _status(
                    422,
                    "Invalid",
                    f'InferenceService.{GROUP} "{name}" is invalid: {"; ".join(problems)}',
                    {"name": name, "group": GROUP, "kind": "InferenceService"},
                )
            )

    def _store_new(self, body: dict) -> dict:
        meta = body.setdefault("metadata", {})
        namespace, name = meta["namespace"], meta["name"]
        body.pop("status", None)
        meta.update(
            uid=str(uuid.uuid4()),
            generation=1,
            creationTimestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            resourceVersion=self._next_rv(),
        )
        self._objects[(namespace, name)] = body
        self._revisions[(namespace, name)] = []
        self._record("ADDED", body)
        return body

    def create(self, namespace: str, body: dict) -> dict:
        with self._changed:
            self._authorize("create", namespace, None)
            if namespace not in self.namespaces:
                raise ApiError(
                    _status(
                        404,
                        "NotFound",
                        f'namespaces "{namespace}" not found',
                        {"name": namespace, "kind": "namespaces"},
                    )
                )
            if (
                body.get("apiVersion") != f"{GROUP}/{VERSION}"
                or body.get("kind") != "InferenceService"
            ):
                raise ApiError(
                    _status(
                        400,
                        "BadRequest",
                        f"the API version in the data ({body.get('apiVersion')}) does not match "
                        f"the expected API version ({GROUP}/{VERSION})",
                    )
                )
            meta = body.setdefault("metadata", {})
            meta.setdefault("namespace", namespace)
            if meta["namespace"] != namespace:
                raise ApiError(
                    _status(
                        400,
                        "BadRequest",
                        "the namespace of the provided object does not match the namespace sent on "
                        "the request",
                    )
                )
            name = meta.get("name")
            if not name:
                raise ApiError(
                    _status(
                        422,
                        "Invalid",
                        "metadata.name: Required value: name or generateName is required",
                    )
                )
            self._validate(body)
            if (namespace, name) in self._objects:
                raise ApiError(
                    _status(
                        409,
                        "AlreadyExists",
                        f'{PLURAL}.{GROUP} "{name}" already exists',
                        {"name": name, "group": GROUP, "kind": PLURAL},
                    )
                )
            self._store_new(copy.deepcopy(body))
            self._schedule_observe((namespace, name))
            return copy.deepcopy(self._objects[(namespace, name)])

    def _get(self, namespace: str, name: str) -> dict:
        found = self._objects.get((namespace, name))
        if found is None:
            raise ApiError(
                _status(
                    404,
                    "NotFound",
                    f'{PLURAL}.{GROUP} "{name}" not found',
                    {"name": name, "group": GROUP, "kind": PLURAL},
                )
            )
        return found

    def get(self, namespace: str, name: str) -> dict:
        with self._changed:
            self._authorize("get", namespace, name)
            return copy.deepcopy(self._get(namespace, name))

    def list_objects(self, namespace: str, selector: str | None) -> dict:
        with self._changed:
            self._authorize("list", namespace, None)
            items = [
                copy.deepcopy(obj)
                for (ns, name), obj in sorted(self._objects.items())
                if ns == namespace and _selected(name, selector)
            ]
            return {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "InferenceServiceList",
                "items": items,
                "metadata": {"resourceVersion": str(self._rv)},
            }

    def patch(self, namespace: str, name: str, body: dict) -> dict:
        with self._changed:
            self._authorize("patch", namespace, name)
            current = self._get(namespace, name)
            self.patches.append(copy.deepcopy(body))
            conflict = _status(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {PLURAL}.{GROUP} "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again",
                {"name": name, "group": GROUP, "kind": PLURAL},
            )
            if self.conflict_next_patches > 0:
                self.conflict_next_patches -= 1
                # Another client wrote meanwhile: the object moves on, this patch is refused.
                current["metadata"]["resourceVersion"] = self._next_rv()
                self._record("MODIFIED", current)
                raise ApiError(conflict)
            wanted_rv = (body.get("metadata") or {}).get("resourceVersion")
            if wanted_rv is not None and wanted_rv != current["metadata"]["resourceVersion"]:
                raise ApiError(conflict)
            patch = copy.deepcopy(body)
            patch.pop("status", None)
            for key in ("resourceVersion", "generation"):
                (patch.get("metadata") or {}).pop(key, None)
            updated = merge(current, patch)
            _check_identity(current, updated, name, namespace)
            updated["status"] = current.get("status", {})
            self._validate(updated)
            if updated.get("spec") != current.get("spec"):
                updated["metadata"]["generation"] = current["metadata"]["generation"] + 1
            if updated == current:
                return copy.deepcopy(current)
            updated["metadata"]["resourceVersion"] = self._next_rv()
            self._objects[(namespace, name)] = updated
            self._record("MODIFIED", updated)
            if updated.get("spec") != current.get("spec"):
                self._schedule_observe((namespace, name))
            return copy.deepcopy(self._objects[(namespace, name)])

    def current_as_added(self, namespace: str, selector: str | None) -> list[dict]:
        """Synthetic ADDED events for the objects as they are now (a watch from version 0)."""
        return [
            {"type": "ADDED", "object": copy.deepcopy(obj)}
            for (ns, name), obj in sorted(self._objects.items())
            if ns == namespace and _selected(name, selector)
        ]

    def events_after(self, namespace: str, selector: str | None, version: int) -> list[dict]:
        """The events after ``version`` (the caller holds the lock and checked compaction)."""
        return [
            {"type": kind, "object": copy.deepcopy(obj)}
            for rv, kind, ns, name, obj in self._events
            if rv > version and ns == namespace and _selected(name, selector)
        ]

    # ----- the stand-in KServe controller -----------------------------------------------------
    def _schedule_observe(self, key: tuple[str, str]) -> None:
        """The controller sees the write ``reconcile_after`` seconds later (its informer's lag)."""
        timer = threading.Timer(self.behaviour.reconcile_after, self._observe_later, (key,))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _observe_later(self, key: tuple[str, str]) -> None:
        with self._changed:
            if key in self._objects:
                self._observe(key)

    def _observe(self, key: tuple[str, str], settle_now: bool = False) -> None:
        """The controller reconciles the current spec: a new revision if the predictor changed,
        then the status, with ``observedGeneration`` the generation it saw."""
        obj = self._objects[key]
        self._observed[key] = {
            "generation": obj["metadata"]["generation"],
            "spec": copy.deepcopy(obj["spec"]),
        }
        revision = self._new_revision_if_changed(*key, settle_now=settle_now)
        if (
            settle_now
            and revision is not None
            and revision.storage_uri not in self.behaviour.never_ready
        ):
            self._settle_locked(key, revision)
            return
        self._reconcile(*key)

    def _new_revision_if_changed(
        self, namespace: str, name: str, settle_now: bool = False
    ) -> Revision | None:
        spec = self._observed[(namespace, name)]["spec"]
        template = {k: v for k, v in spec["predictor"].items() if k != "canaryTrafficPercent"}
        revisions = self._revisions[(namespace, name)]
        if revisions and revisions[-1].template == template:
            return None
        revision = Revision(f"{name}-predictor-{len(revisions) + 1:05d}", copy.deepcopy(template))
        revisions.append(revision)
        behaviour = self.behaviour
        if revision.storage_uri in behaviour.never_ready or settle_now:
            return revision
        timer = threading.Timer(behaviour.ready_after, self._settle, (namespace, name, revision))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()
        return revision

    def _settle(self, namespace: str, name: str, revision: Revision) -> None:
        with self._changed:
            if (namespace, name) in self._objects:
                self._settle_locked((namespace, name), revision)

    def _settle_locked(self, key: tuple[str, str], revision: Revision) -> None:
        if revision.storage_uri in self.behaviour.failing:
            revision.state = "failed"
        elif revision.storage_uri in self.behaviour.load_failing:
            revision.state = "load-failed"
        else:
            revision.state = "ready"
        self._reconcile(*key)

    def _url(self, namespace: str, name: str, revision: Revision | None, tag: str | None) -> str:
        if revision is not None and revision.storage_uri in self.behaviour.endpoints:
            return self.behaviour.endpoints[revision.storage_uri]
        host = f"{tag}-{name}-predictor" if tag else f"{name}-predictor"
        return f"http://{host}.{namespace}.example.com"

    def _reconcile(self, namespace: str, name: str) -> None:
        obj = self._objects[(namespace, name)]
        observed = self._observed[(namespace, name)]
        revisions = self._revisions[(namespace, name)]
        status = copy.deepcopy(obj.get("status") or {})
        predictor = status.setdefault("components", {}).setdefault("predictor", {})
        latest = revisions[-1]
        ready = [item for item in revisions if item.state == "ready"]
        latest_ready = ready[-1] if ready else None
        predictor["latestCreatedRevision"] = latest.name
        if latest_ready is not None:
            predictor["latestReadyRevision"] = latest_ready.name
        canary = observed["spec"]["predictor"].get("canaryTrafficPercent")
        rolled_out = next(
            (item for item in revisions if item.name == predictor.get("latestRolledoutRevision")),
            None,
        )
        rolls_out = latest_ready is not None and (canary is None or rolled_out is None)
        if rolls_out and latest_ready is latest and rolled_out is not latest:
            if rolled_out is not None:
                predictor["previousRolledoutRevision"] = rolled_out.name
            predictor["latestRolledoutRevision"] = latest.name
            rolled_out = latest
        targets = []
        if latest_ready is not None:
            if canary is None or rolled_out is None or rolled_out is latest_ready:
                percent = 100 if canary is None or rolled_out is None else canary
                targets.append(self._target(namespace, name, latest_ready, percent, True, "latest"))
                if percent < 100:
                    targets.append(
                        self._target(namespace, name, rolled_out, 100 - percent, False, "prev")
                    )
            else:
                targets.append(self._target(namespace, name, latest_ready, canary, True, "latest"))
                targets.append(
                    self._target(namespace, name, rolled_out, 100 - canary, False, "prev")
                )
        predictor["traffic"] = targets
        if latest_ready is not None:
            predictor["url"] = f"http://{name}-predictor.{namespace}.example.com"
            predictor["address"] = {"url": f"http://{name}-predictor.{namespace}.svc.cluster.local"}
            status["url"] = f"http://{name}.{namespace}.example.com"
            status["address"] = {"url": f"http://{name}.{namespace}.svc.cluster.local"}
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if latest.state == "ready":
            ready_status, reason, message = "True", None, None
        elif latest.state == "failed":
            ready_status, reason, message = (
                "False",
                "RevisionFailed",
                f'Revision "{latest.name}" failed with message: Container failed with: '
                "exit code 1.",
            )
        elif latest.state == "load-failed":
            ready_status, reason, message = (
                "False",
                "ModelLoadFailed",
                "the model server could not load the model",
            )
        else:
            ready_status, reason, message = (
                "Unknown",
                "RevisionMissing",
                f'Configuration "{name}-predictor" is waiting for a Revision to become ready.',
            )
        conditions = []
        for kind in ("IngressReady", "PredictorReady", "Ready"):
            entry = {
                "type": kind,
                "status": ready_status
                if kind != "IngressReady" or latest_ready is None
                else "True",
                "lastTransitionTime": now,
            }
            if entry["status"] != "True" and reason:
                entry["reason"], entry["message"] = reason, message
            conditions.append(entry)
        status["conditions"] = conditions
        if latest.state == "load-failed":
            status["modelStatus"] = {
                "transitionStatus": "BlockedByFailedLoad",
                "states": {"activeModelState": "", "targetModelState": "FailedToLoad"},
                "lastFailureInfo": {
                    "reason": "ModelLoadFailed",
                    "message": "model.joblib: cannot unpickle",
                },
            }
        else:
            status["modelStatus"] = {
                "transitionStatus": "UpToDate" if latest.state == "ready" else "InProgress",
                "states": {
                    "activeModelState": "Loaded" if latest_ready else "Pending",
                    "targetModelState": "Loaded" if latest.state == "ready" else "Pending",
                },
            }
        status["observedGeneration"] = observed["generation"]
        status["deploymentMode"] = "Serverless"
        if status != obj.get("status"):
            obj["status"] = status
            obj["metadata"]["resourceVersion"] = self._next_rv()
            self._record("MODIFIED", obj)

    def _target(
        self, namespace: str, name: str, revision: Revision, percent: int, latest: bool, tag: str
    ) -> dict:
        return {
            "revisionName": revision.name,
            "percent": percent,
            "latestRevision": latest,
            "tag": tag,
            "url": self._url(namespace, name, revision, tag),
        }

    # ----- HTTP ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def kubeconfig(self, path: Path, namespace: str = "models", token: str = TOKEN) -> Path:
        """Writes a kubeconfig whose current context points at this server."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "runner", "user": {"token": token}}],
            "contexts": [
                {
                    "name": "fake",
                    "context": {"cluster": "fake", "user": "runner", "namespace": namespace},
                }
            ],
            "current-context": "fake",
        }
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path

    @contextlib.contextmanager
    def running(self) -> Iterator["FakeKubeApi"]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, code: int, body: dict) -> None:
                payload = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _body(self) -> object:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    return json.loads(raw or b"null")
                except json.JSONDecodeError as error:
                    raise ApiError(_status(400, "BadRequest", f"invalid JSON: {error}")) from None

            def _route(self) -> tuple[str, str | None, dict[str, list[str]]]:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                if not parts.path.startswith(PREFIX) or not api.crd_installed:
                    raise ApiError(
                        _status(
                            404, "NotFound", "the server could not find the requested resource", {}
                        )
                    )
                rest = parts.path[len(PREFIX) :].split("/")
                if len(rest) not in (2, 3) or rest[1] != PLURAL:
                    raise ApiError(
                        _status(
                            404, "NotFound", "the server could not find the requested resource", {}
                        )
                    )
                return rest[0], (rest[2] if len(rest) == 3 else None), query

            def _handle(self, method: str) -> None:
                api.requests.append((method, self.path, self.headers.get("Content-Type", "")))
                try:
                    if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                        raise ApiError(_status(401, "Unauthorized", "Unauthorized"))
                    namespace, name, query = self._route()
                    if self._faulted(method, name, query):
                        return
                    if method == "GET" and name:
                        self._send(200, api.get(namespace, name))
                    elif method == "GET":
                        selector = (query.get("fieldSelector") or [None])[0]
                        if selector is not None and not selector.startswith("metadata.name="):
                            raise ApiError(
                                _status(
                                    400,
                                    "BadRequest",
                                    f"field selector {selector!r} is not supported",
                                )
                            )
                        if (query.get("watch") or ["false"])[0].lower() in ("true", "1"):
                            self._watch(namespace, selector, query)
                        else:
                            self._send(200, api.list_objects(namespace, selector))
                    elif method == "POST" and not name:
                        body = self._body()
                        if not isinstance(body, dict):
                            raise ApiError(
                                _status(400, "BadRequest", "the body is not a JSON object")
                            )
                        self._send(201, api.create(namespace, body))
                    elif method == "PATCH" and name:
                        content_type = self.headers.get("Content-Type", "")
                        if content_type != "application/merge-patch+json":
                            raise ApiError(
                                _status(
                                    415,
                                    "UnsupportedMediaType",
                                    f"{UNSUPPORTED_PATCH} (got {content_type})",
                                )
                            )
                        body = self._body()
                        if not isinstance(body, dict):
                            raise ApiError(
                                _status(400, "BadRequest", "a merge patch is a JSON object")
                            )
                        self._send(200, api.patch(namespace, name, body))
                    else:
                        raise ApiError(
                            _status(
                                405,
                                "MethodNotAllowed",
                                "the server does not allow this method on the requested resource "
                                f"({method})",
                            )
                        )
                except ApiError as error:
                    self._send(error.status["code"], error.status)

            def _faulted(self, method: str, name: str | None, query: dict[str, list[str]]) -> bool:
                watching = (query.get("watch") or ["false"])[0].lower() in ("true", "1")
                verb = {
                    ("GET", True): "get",
                    ("POST", False): "create",
                    ("PATCH", True): "patch",
                }.get((method, name is not None))
                if method == "GET" and name is None:
                    verb = "watch" if watching else "list"
                fault = api.fault_for(verb) if verb else None
                if fault is None:
                    return False
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if fault.answer == "reset":
                    self.close_connection = True
                    return True
                code = int(fault.answer)
                details = {"name": name, "group": GROUP, "kind": PLURAL} if code == 404 else None
                message = (
                    f'{PLURAL}.{GROUP} "{name}" not found'
                    if code == 404
                    else f"injected failure: {REASONS.get(code, 'Failure')}"
                )
                body = json.dumps(_status(code, REASONS.get(code, "Failure"), message, details))
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if code == 429:
                    self.send_header("Retry-After", "1")
                self.end_headers()
                self.wfile.write(body.encode())
                return True

            def _watch(
                self, namespace: str, selector: str | None, query: dict[str, list[str]]
            ) -> None:
                with api._changed:
                    api._authorize("watch", namespace, None)
                version = int((query.get("resourceVersion") or ["0"])[0] or 0)
                timeout = float((query.get("timeoutSeconds") or ["1800"])[0])
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                deadline = time.monotonic() + timeout

                def chunk(data: bytes) -> None:
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()

                try:
                    with api._changed:
                        expired = api.expire_next_watches > 0 or (0 < version < api._compacted)
                        if api.expire_next_watches > 0:
                            api.expire_next_watches -= 1
                        if expired:
                            events = []
                        elif version == 0:  # "any": the state now, as ADDED events, then changes
                            events = api.current_as_added(namespace, selector)
                            version = api._rv
                        else:
                            events = api.events_after(namespace, selector, version)
                            version = api._rv
                    if expired:
                        status = _status(
                            410, "Expired", f"too old resource version: {version} ({api._rv})"
                        )
                        chunk(json.dumps({"type": "ERROR", "object": status}).encode() + b"\n")
                    else:
                        while True:
                            for event in events:
                                chunk(json.dumps(event).encode() + b"\n")
                            with api._changed:
                                events = api.events_after(namespace, selector, version)
                                version = api._rv
                                if not events:
                                    remaining = deadline - time.monotonic()
                                    if remaining <= 0:
                                        break
                                    api._changed.wait(min(remaining, 0.5))
                    chunk(b"")
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

            def do_PUT(self) -> None:
                self._handle("PUT")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        thread = threading.Thread(target=server.serve_forever, name="fake-kube-api", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            for timer in self._timers:
                timer.cancel()


def _check_identity(current: dict, updated: dict, name: str, namespace: str) -> None:
    """Refuses a patch that renames the object or rewrites what the server assigned."""
    meta = updated.get("metadata") or {}
    if meta.get("name") != name:
        raise ApiError(
            _status(
                400,
                "BadRequest",
                f"the name of the object ({meta.get('name')}) does not match the name on the URL "
                f"({name})",
            )
        )
    if meta.get("namespace") != namespace:
        raise ApiError(
            _status(
                400,
                "BadRequest",
                f"the namespace of the object ({meta.get('namespace')}) does not match the "
                f"namespace on the URL ({namespace})",
            )
        )
    for key in ("uid", "creationTimestamp"):
        if meta.get(key) != current["metadata"].get(key):
            raise ApiError(
                _status(
                    422,
                    "Invalid",
                    f'InferenceService.{GROUP} "{name}" is invalid: metadata.{key}: Invalid '
                    f"value: {json.dumps(meta.get(key))}: field is immutable",
                    {"name": name, "group": GROUP, "kind": "InferenceService"},
                )
            )


def _selected(name: str, selector: str | None) -> bool:
    return selector is None or selector == f"metadata.name={name}"


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Polls ``predicate`` until it is true or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()

"""An in-process Kubernetes API server for TrainJobs, their node pods and pod logs.

Plain HTTP on 127.0.0.1, answering as the API server does for:

- ``/apis/trainer.kubeflow.org/v1alpha1/namespaces/NS/trainjobs[/NAME]``: create (409
  AlreadyExists; 422 Invalid when the object breaks the CRD's openAPIV3Schema, strict about unknown
  fields, or its name breaks the CRD's RFC 1035 rule), get (404 with ``details.name``), list with
  ``fieldSelector=metadata.name=X``, watch from a ``resourceVersion`` (410 Expired on request),
  delete (its pods are killed, a DELETED event is sent);
- ``/api/v1/namespaces/NS/pods`` with ``labelSelector=jobset.sigs.k8s.io/jobset-name=X`` and
  ``/api/v1/namespaces/NS/pods/NAME/log`` (``container``, ``tailLines``);
- bearer-token authentication (401) and per verb and resource authorization (403 with the API
  server's message: ``User "..." cannot create resource "trainjobs" in API group ...``).

The stand-in for the Trainer and JobSet controllers really runs a created TrainJob: each node is a
process on this machine started with the command, args and PET_* environment the torch plugin gives
a node pod (:mod:`support.trainer_nodes`); its pod is Running while it runs, then Succeeded or
Failed with the exit code, and its log is the process's output. All nodes succeeded: condition
``Complete``; one failed: the others are killed, as JobSet's default failure policy (no restarts)
fails the whole JobSet, and condition ``Failed`` with reason ``FailedJobs``, JobSet's reason, which
the Trainer copies to the TrainJob (the message here is this fake's own words). With
``start_nodes=False`` the pods stay Pending forever (a cluster without room), for timeouts and
cancellation.

Not covered: label selectors other than the JobSet name, pagination, bookmarks, finalizers and
foreground deletion, admission webhooks (the Trainer's own validation), runtime lookup and the
runtime patches' effect, real scheduling, restarts (JobSet failurePolicy.maxRestarts), streaming
logs (``follow=true``).
"""

import contextlib
import copy
import dataclasses
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml
from support.trainer_nodes import kill, start_nodes
from training import trainer_crd

GROUP, VERSION, PLURAL = "trainer.kubeflow.org", "v1alpha1", "trainjobs"
TRAINJOBS = f"/apis/{GROUP}/{VERSION}/namespaces/"
PODS = "/api/v1/namespaces/"
TOKEN = "fake-token-for-tests"
USER = "system:serviceaccount:kubeflow:pipeline-runner"
ALL_PERMISSIONS = frozenset(
    {
        ("create", "trainjobs"),
        ("get", "trainjobs"),
        ("list", "trainjobs"),
        ("watch", "trainjobs"),
        ("delete", "trainjobs"),
        ("list", "pods"),
        ("get", "pods"),
        ("get", "pods/log"),
        ("list", "pods/log"),
    }
)
_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
            **({"details": details} if details is not None else {}),
        }


@dataclasses.dataclass
class Node:
    """One node pod: the process behind it (None while Pending) and its log file."""

    pod: str
    index: int
    log: Path
    process: object = None


class FakeTrainerApi:
    """The store, the stand-in controllers and the HTTP server (see the module docstring).

    Attributes:
        allowed: The (verb, resource) pairs the caller's service account may use.
        start_nodes: Run created TrainJobs' nodes (True) or leave their pods Pending.
        expire_next_watches: That many coming watches answer 410 Expired.
        deleted: Names of the TrainJobs deleted, in order.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self.allowed: set[tuple[str, str]] = set(ALL_PERMISSIONS)
        self.start_nodes = True
        self.expire_next_watches = 0
        self.deleted: list[str] = []
        self._objects: dict[tuple[str, str], dict] = {}
        self._nodes: dict[tuple[str, str], list[Node]] = {}
        self._events: list[tuple[int, str, str, str, dict]] = []
        self._rv = 5000

    # ----- store -----------------------------------------------------------------------------
    def _record(self, kind: str, obj: dict) -> None:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        meta = obj["metadata"]
        self._events.append((self._rv, kind, meta["namespace"], meta["name"], copy.deepcopy(obj)))
        self._lock.notify_all()

    def stored(self, namespace: str, name: str) -> dict | None:
        with self._lock:
            return copy.deepcopy(self._objects.get((namespace, name)))

    def names(self, namespace: str) -> list[str]:
        with self._lock:
            return sorted(name for ns, name in self._objects if ns == namespace)

    def _authorize(self, verb: str, resource: str, namespace: str, name: str | None) -> None:
        if (verb, resource) in self.allowed:
            return
        group = GROUP if resource == PLURAL else ""
        qualified = f"{resource}.{group}" if group else resource
        subject = f'{qualified} "{name}" is forbidden' if name else f"{qualified} is forbidden"
        raise ApiError(
            403,
            "Forbidden",
            f'{subject}: User "{USER}" cannot {verb} resource "{resource}" in API group '
            f'"{group}" in the namespace "{namespace}"',
        )

    def create(self, namespace: str, body: dict) -> dict:
        with self._lock:
            self._authorize("create", PLURAL, namespace, None)
            meta = body.get("metadata") or {}
            name = meta.get("name", "")
            problems = trainer_crd.errors(body)
            if not _NAME.match(name) or len(name) > 63:
                problems.append("metadata.name must match RFC 1035 DNS label format")
            if problems:
                raise ApiError(
                    422,
                    "Invalid",
                    f'TrainJob.{GROUP} "{name}" is invalid: {"; ".join(problems)}',
                    {"name": name, "group": GROUP, "kind": "TrainJob"},
                )
            if meta.get("namespace", namespace) != namespace:
                raise ApiError(400, "BadRequest", "the namespace of the object does not match")
            if (namespace, name) in self._objects:
                raise ApiError(
                    409,
                    "AlreadyExists",
                    f'{PLURAL}.{GROUP} "{name}" already exists',
                    {"name": name, "group": GROUP, "kind": PLURAL},
                )
            obj = copy.deepcopy(body)
            obj["metadata"].update(
                namespace=namespace, uid=str(uuid.uuid4()), generation=1, creationTimestamp=_now()
            )
            obj["status"] = {"conditions": []}
            self._objects[(namespace, name)] = obj
            self._record("ADDED", obj)
            self._start(namespace, name, obj)
            return copy.deepcopy(obj)

    def _get(self, namespace: str, name: str) -> dict:
        found = self._objects.get((namespace, name))
        if found is None:
            raise ApiError(
                404,
                "NotFound",
                f'{PLURAL}.{GROUP} "{name}" not found',
                {"name": name, "group": GROUP, "kind": PLURAL},
            )
        return found

    def delete(self, namespace: str, name: str) -> dict:
        with self._lock:
            self._authorize("delete", PLURAL, namespace, name)
            obj = self._get(namespace, name)
            del self._objects[(namespace, name)]
            nodes = self._nodes.pop((namespace, name), [])
            self.deleted.append(name)
            self._record("DELETED", obj)
        for node in nodes:
            if node.process is not None:
                kill(node.process)
        return {"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}}

    # ----- the stand-in controllers ----------------------------------------------------------
    def _start(self, namespace: str, name: str, obj: dict) -> None:
        count = int(obj["spec"]["trainer"].get("numNodes", 1))
        folder = self.folder / namespace / name
        nodes = [
            Node(f"{name}-node-0-{i}-{uuid.uuid4().hex[:5]}", i, folder / f"node-{i}.log")
            for i in range(count)
        ]
        self._nodes[(namespace, name)] = nodes
        if not self.start_nodes:
            return
        for node, process in zip(nodes, start_nodes(obj, folder), strict=True):
            node.process = process
        threading.Thread(target=self._reap, args=(namespace, name), daemon=True).start()

    def _reap(self, namespace: str, name: str) -> None:
        while True:
            with self._lock:
                nodes = self._nodes.get((namespace, name))
                if nodes is None:
                    return  # deleted
                codes = [node.process.poll() for node in nodes]
            if any(code not in (None, 0) for code in codes) or all(code == 0 for code in codes):
                break
            time.sleep(0.1)
        failed = any(code not in (None, 0) for code in codes)
        if failed:  # JobSet fails as a whole: the other nodes are stopped
            for node in nodes:
                if node.process.poll() is None:
                    kill(node.process)
        with self._lock:
            obj = self._objects.get((namespace, name))
            if obj is None:
                return
            if failed:
                entry = {
                    "type": "Failed",
                    "status": "True",
                    "reason": "FailedJobs",
                    "message": "jobset failed: a node Job failed",
                }
            else:
                entry = {
                    "type": "Complete",
                    "status": "True",
                    "reason": "AllJobsCompleted",
                    "message": "jobset completed successfully",
                }
            entry["lastTransitionTime"] = _now()
            obj["status"] = {"conditions": [entry]}
            self._record("MODIFIED", obj)

    def pods(self, namespace: str, selector: str) -> dict:
        with self._lock:
            self._authorize("list", "pods", namespace, None)
            match = re.fullmatch(r"jobset\.sigs\.k8s\.io/jobset-name=([-a-z0-9]+)", selector or "")
            if not match:
                raise ApiError(400, "BadRequest", f"unsupported label selector {selector!r}")
            nodes = list(self._nodes.get((namespace, match.group(1)), []))
            job = match.group(1)
        return {
            "apiVersion": "v1",
            "kind": "PodList",
            "metadata": {"resourceVersion": str(self._rv)},
            "items": [self._pod(namespace, job, node) for node in nodes],
        }

    def _pod(self, namespace: str, job: str, node: Node) -> dict:
        code = None if node.process is None else node.process.poll()
        if node.process is None:
            phase, state = "Pending", {"waiting": {"reason": "Unschedulable"}}
        elif code is None:
            phase, state = "Running", {"running": {"startedAt": _now()}}
        else:
            phase = "Succeeded" if code == 0 else "Failed"
            state = {"terminated": {"exitCode": code if code >= 0 else 128 - code}}
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": node.pod,
                "namespace": namespace,
                "labels": {
                    "jobset.sigs.k8s.io/jobset-name": job,
                    "jobset.sigs.k8s.io/replicatedjob-name": "node",
                    "batch.kubernetes.io/job-completion-index": str(node.index),
                },
            },
            "spec": {"containers": [{"name": "node", "image": "unused"}]},
            "status": {
                "phase": phase,
                "containerStatuses": [
                    {
                        "name": "node",
                        "ready": phase == "Running",
                        "restartCount": 0,
                        "image": "unused",
                        "imageID": "",
                        "state": state,
                    }
                ],
            },
        }

    def log(self, namespace: str, pod: str, query: dict[str, list[str]]) -> str:
        with self._lock:
            self._authorize("get", "pods/log", namespace, pod)
            found = [
                node
                for (ns, _), nodes in self._nodes.items()
                if ns == namespace
                for node in nodes
                if node.pod == pod
            ]
        if not found:
            raise ApiError(404, "NotFound", f'pods "{pod}" not found', {"name": pod})
        if (query.get("container") or ["node"])[0] != "node":
            raise ApiError(400, "BadRequest", "container is not valid for pod")
        text = found[0].log.read_text(errors="replace") if found[0].log.exists() else ""
        tail = query.get("tailLines")
        if tail:
            text = "".join(text.splitlines(keepends=True)[-int(tail[0]) :])
        return text

    def stop_all(self) -> None:
        with self._lock:
            nodes = [node for items in self._nodes.values() for node in items]
        for node in nodes:
            if node.process is not None:
                kill(node.process)

    # ----- HTTP ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def kubeconfig(self, path: Path, namespace: str = "models") -> Path:
        """Writes a kubeconfig whose current context points at this server."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "runner", "user": {"token": TOKEN}}],
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
    def running(self) -> Iterator["FakeTrainerApi"]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, code: int, body: object, content_type: str = "application/json"):
                payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")  # one request per connection
                self.end_headers()
                self.wfile.write(payload)
                self.close_connection = True

            def _handle(self, method: str) -> None:
                try:
                    if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                        raise ApiError(401, "Unauthorized", "Unauthorized")
                    parts = urlsplit(self.path)
                    query = parse_qs(parts.query)
                    if parts.path.startswith(TRAINJOBS):
                        self._trainjobs(method, parts.path[len(TRAINJOBS) :].split("/"), query)
                    elif parts.path.startswith(PODS):
                        self._pods(method, parts.path[len(PODS) :].split("/"), query)
                    else:
                        raise ApiError(404, "NotFound", "the server could not find the resource")
                except ApiError as error:
                    self._send(error.body["code"], error.body)

            def _trainjobs(self, method: str, rest: list[str], query: dict) -> None:
                if len(rest) not in (2, 3) or rest[1] != PLURAL:
                    raise ApiError(404, "NotFound", "the server could not find the resource", {})
                namespace, name = rest[0], (rest[2] if len(rest) == 3 else None)
                if method == "POST" and not name:
                    length = int(self.headers.get("Content-Length") or 0)
                    self._send(201, api.create(namespace, json.loads(self.rfile.read(length))))
                elif method == "GET" and name:
                    with api._lock:
                        api._authorize("get", PLURAL, namespace, name)
                        self._send(200, copy.deepcopy(api._get(namespace, name)))
                elif method == "GET":
                    selector = (query.get("fieldSelector") or [None])[0]
                    if (query.get("watch") or ["false"])[0].lower() in ("true", "1"):
                        self._watch(namespace, selector, query)
                    else:
                        with api._lock:
                            api._authorize("list", PLURAL, namespace, None)
                            items = [
                                copy.deepcopy(obj)
                                for (ns, item), obj in sorted(api._objects.items())
                                if ns == namespace and _selected(item, selector)
                            ]
                            self._send(
                                200,
                                {
                                    "apiVersion": f"{GROUP}/{VERSION}",
                                    "kind": "TrainJobList",
                                    "items": items,
                                    "metadata": {"resourceVersion": str(api._rv)},
                                },
                            )
                elif method == "DELETE" and name:
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))  # DeleteOptions
                    self._send(200, api.delete(namespace, name))
                else:
                    raise ApiError(405, "MethodNotAllowed", f"method {method} is not allowed")

            def _pods(self, method: str, rest: list[str], query: dict) -> None:
                if method == "GET" and len(rest) == 2 and rest[1] == "pods":
                    selector = (query.get("labelSelector") or [""])[0]
                    self._send(200, api.pods(rest[0], selector))
                elif method == "GET" and len(rest) == 4 and rest[1] == "pods" and rest[3] == "log":
                    self._send(200, api.log(rest[0], rest[2], query), "text/plain")
                else:
                    raise ApiError(404, "NotFound", "the server could not find the resource", {})

            def _watch(self, namespace: str, selector: str | None, query: dict) -> None:
                with api._lock:
                    api._authorize("watch", PLURAL, namespace, None)
                version = int((query.get("resourceVersion") or ["0"])[0] or 0)
                deadline = time.monotonic() + float((query.get("timeoutSeconds") or ["60"])[0])
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Connection", "close")
                self.end_headers()

                def chunk(data: bytes) -> None:
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()

                try:
                    if api.expire_next_watches > 0:
                        api.expire_next_watches -= 1
                        status = ApiError(410, "Expired", f"too old resource version: {version}")
                        chunk(json.dumps({"type": "ERROR", "object": status.body}).encode() + b"\n")
                    else:
                        while time.monotonic() < deadline:
                            with api._lock:
                                events = [
                                    {"type": kind, "object": obj}
                                    for rv, kind, ns, item, obj in api._events
                                    if rv > version
                                    and ns == namespace
                                    and _selected(item, selector)
                                ]
                                if not events:
                                    api._lock.wait(min(0.2, max(0.0, deadline - time.monotonic())))
                                    continue
                            for event in events:
                                version = int(event["object"]["metadata"]["resourceVersion"])
                                chunk(json.dumps(event).encode() + b"\n")
                    chunk(b"")
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        thread = threading.Thread(target=server.serve_forever, name="fake-trainer", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            self.stop_all()


def _selected(name: str, selector: str | None) -> bool:
    return selector is None or selector == f"metadata.name={name}"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

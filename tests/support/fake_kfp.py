"""An in-process HTTP server that answers as the Kubeflow Pipelines v2beta1 REST API does, for the
calls ``kfp-mlops submit``/``schedule`` and the ``kfp`` CLI make.

Requests and responses go through the kfp-server-api package's own models (the generated client's
types): a request body with a field the model does not have is refused with 400, as the real
server's JSON parser refuses it, and every response is a model serialized by the generated
``ApiClient``. Covered: health check; pipelines (list with a ``display_name`` filter, get, multipart
upload of a pipeline and of a version, list and get versions); experiments (list with a filter,
create, get); runs (create from a pipeline version or an inline spec, get, list); recurring runs
(create, list with a filter, get, delete); bearer-token checks; google.rpc.Status error bodies.

A run is played from its pipeline spec, one more node finished at each read of the run, as a
:class:`RunScript` says (which tasks a condition skips, which task fails), and reported the way the
backend reports it. The v2beta1 ``run_details.task_details`` of a run on the Argo engine are the
Argo workflow's nodes (kubeflow/pipelines ``backend/src/apiserver/server/api_converter.go``,
``toModelTasks`` for an ``ExecutionSpec`` and ``toApiPipelineTaskDetail``, KFP 2.x): one entry per
node, sorted by node name, with the node's display name, its phase as the state, and its children;
the Argo compiler (``backend/src/v2/compiler/argocompiler``, ``container.go`` and ``dag.go``) makes
a ``NAME-driver`` node before each task, a DAG node for each group (condition branches, nested
pipelines) and the workflow's root DAG node. A branch whose condition is false is a Skipped DAG
node whose tasks never appear. ``toApiPipelineTaskDetail`` never fills ``error`` from the
component's failure, and ``toApiRun`` fills the run's ``error`` only when converting the stored run
fails: a failed step shows only as FAILED nodes (the step and every group above it), and its
reason is in its pod's log. What a real backend does beyond that is not imitated (see the README
notes).
"""

import dataclasses
import datetime
import http.server
import itertools
import json
import re
import threading
import urllib.parse

import kfp_server_api
import yaml
from kfp_server_api import models

API = "/apis/v2beta1"

# The JSON kind each root parameter type needs, with the words the backend's message uses for it
# (``validatePipelineJobInputs``, below). Any JSON number passes for both number types.
_PARAMETER_KINDS = {
    "NUMBER_DOUBLE": ((int, float), "double or integer", "parameter value is not of number value"),
    "NUMBER_INTEGER": ((int, float), "double or integer", "parameter value is not of number value"),
    "STRING": ((str,), "string", "input parameter is not of string value"),
    "BOOLEAN": ((bool,), "bool", "input parameter is not of bool value"),
    "LIST": ((list,), "list", "input parameter is not of list value"),
    "STRUCT": ((dict,), "struct", "input parameter is not of struct value"),
}
_SCALARS = {"str", "int", "float", "bool", "object", "date", "datetime"}


@dataclasses.dataclass
class RunScript:
    """How the fake plays a run.

    Attributes:
        skip: Tasks that do not run: the condition branch holding each is Skipped.
        fail_at: The task that fails; the run fails with it and no later task runs.
        tasks_per_read: How many more nodes have finished at each read of the run.
    """

    skip: tuple[str, ...] = ("record-rejection",)
    fail_at: str | None = None
    tasks_per_read: int = 1


@dataclasses.dataclass
class Node:
    """An Argo workflow node of a run: ``kind`` is ``dag``, ``driver`` or ``container``."""

    name: str
    kind: str
    parent: str | None
    children: list[str] = dataclasses.field(default_factory=list)
    conditional: bool = False


@dataclasses.dataclass
class Upload:
    """One multipart upload as received."""

    path: str
    query: dict[str, str]
    filename: str
    content: bytes


@dataclasses.dataclass
class Request:
    """One request as received (body decoded as JSON when it is JSON)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: object


class ApiError(Exception):
    """An error answer: HTTP status and a google.rpc.Status body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def unknown_fields(data: object, type_name: str, path: str = "") -> list[str]:
    """The fields of ``data`` that the kfp-server-api model ``type_name`` does not have."""
    if data is None or type_name in _SCALARS:
        return []
    if type_name.startswith("list["):
        inner = type_name[5:-1]
        return [
            field
            for index, item in enumerate(data if isinstance(data, list) else [])
            for field in unknown_fields(item, inner, f"{path.rstrip('.')}[{index}].")
        ]
    if type_name.startswith("dict("):
        inner = type_name[type_name.index(",") + 1 : -1].strip()
        return [
            field
            for key, value in (data.items() if isinstance(data, dict) else [])
            for field in unknown_fields(value, inner, f"{path}{key}.")
        ]
    model = getattr(models, type_name)
    if not model.openapi_types:  # an enum: a string
        return []
    if not isinstance(data, dict):
        return [f"{path.rstrip('.')} (not an object)"]
    by_json = {json_key: attribute for attribute, json_key in model.attribute_map.items()}
    found = []
    for key, value in data.items():
        if key not in by_json:
            found.append(f"{path}{key}")
        else:
            found += unknown_fields(value, model.openapi_types[by_json[key]], f"{path}{key}.")
    return found


class _Body:
    def __init__(self, data: object) -> None:
        self.data = json.dumps(data)


def _nodes(spec: dict, root_name: str) -> list[Node]:
    """The Argo nodes of a run of ``spec``, in the order they run: the root DAG node, then for
    each task in dependency order its driver and the task (a DAG node for a group, followed by
    its own nodes)."""
    components = spec.get("components", {})
    found = [Node(root_name, "dag", None)]

    def walk(dag: dict, parent: Node) -> None:
        tasks = dag.get("tasks", {})
        done: set[str] = set()
        while len(done) < len(tasks):
            ready = sorted(
                name
                for name, task in tasks.items()
                if name not in done and set(task.get("dependentTasks", [])) <= done
            )
            if not ready:
                raise ApiError(400, 3, "pipeline spec has a dependency cycle")
            for name in ready:
                done.add(name)
                display = tasks[name].get("taskInfo", {}).get("name", name)
                component = components.get(tasks[name]["componentRef"]["name"], {})
                kind = "dag" if "dag" in component else "container"
                conditional = bool(tasks[name].get("triggerPolicy", {}).get("condition"))
                for node in (
                    Node(f"{display}-driver", "driver", parent.name),
                    Node(display, kind, parent.name, conditional=conditional),
                ):
                    parent.children.append(node.name)
                    found.append(node)
                if kind == "dag":
                    walk(component["dag"], found[-1])

    walk(spec.get("root", {}).get("dag", {}), found[0])
    return found


def _spec_of(document: object) -> dict:
    """The PipelineSpec of a stored pipeline_spec (bare, or with a platform_spec)."""
    if isinstance(document, dict) and "pipeline_spec" in document:
        return document["pipeline_spec"]
    return document if isinstance(document, dict) else {}


def _check_parameters(spec: dict, parameters: dict, context: str) -> None:
    """Refuses the runtime parameters the KFP backend refuses, with the message it answers.

    Taken from kubeflow/pipelines 2.17.0, ``backend/src/apiserver/template/v2_template.go``,
    ``validatePipelineJobInputs``: each root input first (a missing one with neither
    ``isOptional`` nor a default; a value of the wrong JSON kind), then the parameters the
    pipeline does not have, all named in one message. The backend walks a Go map, so with
    several faults which one it names first varies; the fake takes them in name order. Its
    ``literals`` check is not imitated (no pipeline here declares literals). The error is a
    ``util.NewInvalidInputError`` (gRPC InvalidArgument, HTTP 400) whose text is wrapped on the
    way out (``backend/src/common/util/error.go``: the status message is the wrapped internal
    error, each wrap prefixing ``MESSAGE: ``): ``context`` is that prefix.
    """
    definitions = spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})

    def refuse(message: str) -> None:
        raise ApiError(
            400, 3, f"{context}: invalid pipeline job inputs: Invalid input error: {message}"
        )

    for name in sorted(definitions):
        definition = definitions[name]
        if name not in parameters:
            if not definition.get("isOptional") and "defaultValue" not in definition:
                refuse(
                    f"parameter {name} is not optional, yet has neither default value "
                    "nor user provided value"
                )
            continue
        value, kind = parameters[name], definition.get("parameterType", "")
        if not kind:
            refuse(f"input parameter {name} has unspecified type")
        if kind == "TASK_FINAL_STATUS":
            refuse(
                f"input parameter {name} requires type TASK_FINAL_STATUS, which is invalid for "
                "root component"
            )
        if kind not in _PARAMETER_KINDS:
            refuse(f"input parameter {name} requires type unknown")
        kinds, type_words, value_words = _PARAMETER_KINDS[kind]
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            refuse(f"input parameter {name} requires type {type_words}, but the {value_words} type")
    extra = [name for name in parameters if name not in definitions]
    if extra:
        refuse(f"parameter(s) provided are not required by pipeline: {', '.join(extra)}")


class FakeKfp:
    """The fake server. Use as a context manager; ``url`` is its address.

    Args:
        token: When set, every request needs ``Authorization: Bearer <token>`` (else 401).
        multi_user: What the health check reports.
    """

    def __init__(self, token: str | None = None, multi_user: bool = False) -> None:
        self._lock = threading.Lock()
        self._api = kfp_server_api.ApiClient()
        self._server: http.server.ThreadingHTTPServer | None = None
        self.reset(token, multi_user)

    def reset(self, token: str | None = None, multi_user: bool = False) -> None:
        """Forgets everything stored and sets the auth and health settings anew."""
        self.token = token
        self.multi_user = multi_user
        self.script = RunScript()
        self.requests: list[Request] = []
        self.uploads: list[Upload] = []
        self.pipelines: dict[str, models.V2beta1Pipeline] = {}
        self.versions: dict[str, models.V2beta1PipelineVersion] = {}
        self.experiments: dict[str, models.V2beta1Experiment] = {}
        self.runs: dict[str, models.V2beta1Run] = {}
        self.recurring_runs: dict[str, models.V2beta1RecurringRun] = {}
        self._plans: dict[str, tuple[list[str], RunScript, int]] = {}
        self._ids = itertools.count(1)

    # -- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> "FakeKfp":
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_DELETE(self) -> None:
                fake._handle(self, "DELETE")

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- plumbing ---------------------------------------------------------------------------

    def _new_id(self, kind: str) -> str:
        return f"{kind}-{next(self._ids):04d}"

    def _parse(self, data: object, type_name: str) -> object:
        unknown = unknown_fields(data, type_name)
        if unknown:
            raise ApiError(400, 3, f"unknown field(s) in {type_name}: {', '.join(unknown)}")
        return self._api.deserialize(_Body(data), type_name)

    def _handle(self, handler: http.server.BaseHTTPRequestHandler, method: str) -> None:
        parsed = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        content_type = handler.headers.get("Content-Type", "")
        body: object = raw
        if raw and "json" in content_type:
            body = json.loads(raw)
        headers = {key.lower(): value for key, value in handler.headers.items()}
        with self._lock:
            self.requests.append(Request(method, parsed.path, query, headers, body))
            try:
                if self.token and headers.get("authorization") != f"Bearer {self.token}":
                    raise ApiError(401, 16, "Unauthenticated: no valid bearer token")
                status, answer = 200, self._route(method, parsed.path, query, body, content_type)
            except ApiError as error:
                status = error.status
                answer = models.GoogleRpcStatus(code=error.code, message=error.message)
        payload = json.dumps(self._api.sanitize_for_serialization(answer)).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _route(
        self, method: str, path: str, query: dict, body: object, content_type: str
    ) -> object:
        routes = [
            ("GET", r"/healthz", self._healthz),
            ("GET", r"/pipelines", self._list_pipelines),
            ("POST", r"/pipelines/upload", self._upload_pipeline),
            ("POST", r"/pipelines/upload_version", self._upload_version),
            ("GET", r"/pipelines/(?P<pipeline_id>[^/]+)", self._get_pipeline),
            ("GET", r"/pipelines/(?P<pipeline_id>[^/]+)/versions", self._list_versions),
            (
                "GET",
                r"/pipelines/(?P<pipeline_id>[^/]+)/versions/(?P<version_id>[^/]+)",
                self._get_version,
            ),
            ("GET", r"/experiments", self._list_experiments),
            ("POST", r"/experiments", self._create_experiment),
            ("GET", r"/experiments/(?P<experiment_id>[^/]+)", self._get_experiment),
            ("GET", r"/runs", self._list_runs),
            ("POST", r"/runs", self._create_run),
            ("GET", r"/runs/(?P<run_id>[^/:]+)", self._get_run),
            ("GET", r"/recurringruns", self._list_recurring_runs),
            ("POST", r"/recurringruns", self._create_recurring_run),
            ("GET", r"/recurringruns/(?P<recurring_run_id>[^/:]+)", self._get_recurring_run),
            (
                "DELETE",
                r"/recurringruns/(?P<recurring_run_id>[^/:]+)",
                self._delete_recurring_run,
            ),
        ]
        if not path.startswith(API):
            raise ApiError(404, 5, f"Not Found: {path}")
        for route_method, pattern, action in routes:
            match = re.fullmatch(pattern, path[len(API) :])
            if match and route_method == method:
                return action(
                    query=query, body=body, content_type=content_type, **match.groupdict()
                )
        raise ApiError(404, 5, f"Not Found: {method} {path}")

    @staticmethod
    def _filtered(items: list, query: dict) -> list:
        """Items passing the request's ``filter`` (EQUALS predicates on string fields)."""
        if not query.get("filter"):
            return items
        predicates = json.loads(query["filter"]).get("predicates", [])
        for predicate in predicates:
            if predicate.get("operation") not in ("EQUALS", 1):
                raise ApiError(400, 3, f"the fake supports EQUALS filters only: {predicate}")
            key, value = (
                predicate["key"],
                predicate.get("stringValue", predicate.get("string_value")),
            )
            items = [item for item in items if getattr(item, key, None) == value]
        return items

    @staticmethod
    def _page(items: list, query: dict, created: str = "created_at") -> list:
        if query.get("sort_by", "").endswith("desc"):
            items = sorted(items, key=lambda item: getattr(item, created), reverse=True)
        size = int(query.get("page_size") or 0)
        return items[:size] if size > 0 else items

    @staticmethod
    def _namespace_matches(item: object, query: dict) -> bool:
        wanted = query.get("namespace") or None
        return wanted is None or getattr(item, "namespace", None) == wanted

    # -- multipart --------------------------------------------------------------------------

    @staticmethod
    def _multipart_file(body: bytes, content_type: str) -> tuple[str, bytes]:
        """The ``uploadfile`` part of a multipart/form-data body: file name and exact bytes."""
        match = re.search(r'boundary="?([^";]+)"?', content_type)
        if not content_type.startswith("multipart/form-data") or not match:
            raise ApiError(400, 3, f"expected multipart/form-data, got {content_type!r}")
        delimiter = b"--" + match.group(1).encode()
        for part in body.split(delimiter)[1:]:
            if part.startswith(b"--"):
                break
            head, _, content = part.partition(b"\r\n\r\n")
            disposition = head.decode(errors="replace")
            if 'name="uploadfile"' in disposition:
                filename = re.search(r'filename="([^"]*)"', disposition)
                if not content.endswith(b"\r\n"):
                    raise ApiError(400, 3, "malformed multipart part")
                return (filename.group(1) if filename else "", content[:-2])
        raise ApiError(400, 3, "no uploadfile part in the multipart body")

    @staticmethod
    def _pipeline_document(content: bytes) -> dict:
        try:
            documents = list(yaml.load_all(content, Loader=yaml.CSafeLoader))
        except yaml.YAMLError as error:
            raise ApiError(400, 3, f"invalid pipeline spec: {error}") from error
        if not documents or not isinstance(documents[0], dict):
            raise ApiError(400, 3, "invalid pipeline spec: empty")
        if "pipelineInfo" not in documents[0] or "root" not in documents[0]:
            raise ApiError(400, 3, "invalid pipeline spec: no pipelineInfo or root")
        if len(documents) == 2:
            return {"pipeline_spec": documents[0], "platform_spec": documents[1]}
        return documents[0]

    # -- handlers ---------------------------------------------------------------------------

    def _healthz(self, **_: object) -> object:
        return models.V2beta1GetHealthzResponse(multi_user=self.multi_user, pipeline_store="fake")

    def _list_pipelines(self, query: dict, **_: object) -> object:
        found = [item for item in self.pipelines.values() if self._namespace_matches(item, query)]
        found = self._page(self._filtered(found, query), query)
        return models.V2beta1ListPipelinesResponse(pipelines=found or None, total_size=len(found))

    def _add_version(self, pipeline_id: str, name: str, description: str | None, upload: Upload):
        taken = [
            version
            for version in self.versions.values()
            if version.pipeline_id == pipeline_id and version.display_name == name
        ]
        if taken:
            raise ApiError(409, 6, f"pipeline version {name!r} already exists")
        version = models.V2beta1PipelineVersion(
            pipeline_id=pipeline_id,
            pipeline_version_id=self._new_id("version"),
            display_name=name,
            name=name,
            description=description,
            created_at=_now() + datetime.timedelta(microseconds=len(self.versions)),
            pipeline_spec=self._pipeline_document(upload.content),
        )
        self.versions[version.pipeline_version_id] = version
        self.uploads.append(upload)
        return version

    def _upload_pipeline(self, query: dict, body: bytes, content_type: str, **_: object) -> object:
        filename, content = self._multipart_file(body, content_type)
        name = query.get("name") or query.get("display_name") or filename
        if any(item.display_name == name for item in self.pipelines.values()):
            raise ApiError(409, 6, f"pipeline {name!r} already exists")
        upload = Upload("upload", query, filename, content)
        pipeline = models.V2beta1Pipeline(
            pipeline_id=self._new_id("pipeline"),
            display_name=name,
            name=name,
            description=query.get("description"),
            created_at=_now(),
            namespace=query.get("namespace") or None,
        )
        self._pipeline_document(content)  # refuse a bad file before storing anything
        self.pipelines[pipeline.pipeline_id] = pipeline
        self._add_version(pipeline.pipeline_id, name, query.get("description"), upload)
        return pipeline

    def _upload_version(self, query: dict, body: bytes, content_type: str, **_: object) -> object:
        filename, content = self._multipart_file(body, content_type)
        pipeline_id = query.get("pipelineid", "")
        if pipeline_id not in self.pipelines:
            raise ApiError(404, 5, f"pipeline {pipeline_id!r} not found")
        name = query.get("name") or query.get("display_name") or filename
        upload = Upload("upload_version", query, filename, content)
        return self._add_version(pipeline_id, name, query.get("description"), upload)

    def _get_pipeline(self, pipeline_id: str, **_: object) -> object:
        if pipeline_id not in self.pipelines:
            raise ApiError(404, 5, f"pipeline {pipeline_id!r} not found")
        return self.pipelines[pipeline_id]

    def _list_versions(self, pipeline_id: str, query: dict, **_: object) -> object:
        self._get_pipeline(pipeline_id)
        found = [item for item in self.versions.values() if item.pipeline_id == pipeline_id]
        found = self._page(self._filtered(found, query), query)
        return models.V2beta1ListPipelineVersionsResponse(
            pipeline_versions=found or None, total_size=len(found)
        )

    def _get_version(self, pipeline_id: str, version_id: str, **_: object) -> object:
        version = self.versions.get(version_id)
        if version is None or version.pipeline_id != pipeline_id:
            raise ApiError(404, 5, f"pipeline version {version_id!r} not found")
        return version

    def _list_experiments(self, query: dict, **_: object) -> object:
        found = [item for item in self.experiments.values() if self._namespace_matches(item, query)]
        found = self._page(self._filtered(found, query), query)
        return models.V2beta1ListExperimentsResponse(
            experiments=found or None, total_size=len(found)
        )

    def _create_experiment(self, body: object, **_: object) -> object:
        experiment = self._parse(body, "V2beta1Experiment")
        if not experiment.display_name:
            raise ApiError(400, 3, "experiment display_name is empty")
        experiment.experiment_id = self._new_id("experiment")
        experiment.created_at = _now()
        experiment.storage_state = "AVAILABLE"
        experiment.namespace = experiment.namespace or None
        self.experiments[experiment.experiment_id] = experiment
        return experiment

    def _get_experiment(self, experiment_id: str, **_: object) -> object:
        if experiment_id not in self.experiments:
            raise ApiError(404, 5, f"experiment {experiment_id!r} not found")
        return self.experiments[experiment_id]

    def _resolve_spec(self, request: object) -> dict:
        """The pipeline spec a run or recurring run uses: its version's, or the inline one."""
        reference = request.pipeline_version_reference
        if reference is not None:
            version = self.versions.get(reference.pipeline_version_id or "")
            if version is None or version.pipeline_id != reference.pipeline_id:
                raise ApiError(
                    404, 5, f"pipeline version {reference.pipeline_version_id!r} not found"
                )
            return _spec_of(version.pipeline_spec)
        if request.pipeline_spec:
            return _spec_of(request.pipeline_spec)
        raise ApiError(400, 3, "neither pipeline_version_reference nor pipeline_spec is set")

    def _check_request(self, request: object, context: str) -> dict:
        if request.experiment_id not in self.experiments:
            raise ApiError(404, 5, f"experiment {request.experiment_id!r} not found")
        if not request.display_name:
            raise ApiError(400, 3, "display_name is empty")
        spec = self._resolve_spec(request)
        config = request.runtime_config
        _check_parameters(spec, (config.parameters if config else None) or {}, context)
        return spec

    def _create_run(self, body: object, **_: object) -> object:
        run = self._parse(body, "V2beta1Run")
        # kubeflow/pipelines 2.17.0: run_server.go CreateRun and resource_manager.go CreateRun wrap
        # the template's error in these two messages.
        spec = self._check_request(
            run, "Failed to create a new run: Failed to generate the ExecutionSpec"
        )
        run.run_id = self._new_id("run")
        run.created_at = _now()
        run.state = "PENDING"
        run.storage_state = "AVAILABLE"
        self.runs[run.run_id] = run
        root = f"{spec.get('pipelineInfo', {}).get('name', 'pipeline')}-{run.run_id[-4:]}"
        self._plans[run.run_id] = (_nodes(spec, root), self.script, 0)
        return run

    def _task(self, run_id: str, node: Node, state: str) -> object:
        return models.V2beta1PipelineTaskDetail(
            run_id=run_id,
            task_id=f"{run_id}-{node.name}",
            display_name=node.name,
            create_time=_now(),
            start_time=_now(),
            end_time=_now() if state in ("SUCCEEDED", "FAILED", "SKIPPED") else None,
            state=state,
            child_tasks=[
                models.PipelineTaskDetailChildTask(task_id=f"{run_id}-{child}")
                for child in node.children
            ]
            or None,
        )

    @staticmethod
    def _playing(nodes: list[Node], script: RunScript) -> tuple[list[Node], set[str]]:
        """The nodes that run, in order, and the names of the Skipped branch nodes."""
        by_name = {node.name: node for node in nodes}
        skipped: set[str] = set()
        for task in script.skip:
            if task not in by_name:
                continue
            branch = by_name[task].parent
            while branch is not None and not by_name[branch].conditional:
                branch = by_name[branch].parent
            if branch is None:
                raise ApiError(500, 13, f"script skips {task!r}, which is in no condition branch")
            skipped.add(branch)

        def omitted(node: Node) -> bool:
            parent = node.parent
            while parent is not None:
                if parent in skipped:
                    return True
                parent = by_name[parent].parent
            return False

        playing = [node for node in nodes if not omitted(node)]
        if script.fail_at is not None:
            names = [node.name for node in playing]
            if script.fail_at not in names:
                raise ApiError(500, 13, f"script fails at {script.fail_at!r}, not a task run")
            playing = playing[: names.index(script.fail_at) + 1]
        return playing, skipped

    def _get_run(self, run_id: str, **_: object) -> object:
        run = self.runs.get(run_id)
        if run is None:
            raise ApiError(404, 5, f"run {run_id!r} not found")
        nodes, script, reads = self._plans[run_id]
        by_name = {node.name: node for node in nodes}
        playing, skipped = self._playing(nodes, script)
        # DAG nodes finish when their last node does: only leaves (drivers, containers, skipped
        # branches) advance the run.
        steps = [node for node in playing if node.kind != "dag" or node.name in skipped]
        reads += 1
        self._plans[run_id] = (nodes, script, reads)
        done = min((reads - 1) * script.tasks_per_read, len(steps))
        states: dict[str, str] = {}
        for node in steps[:done]:
            failed = node.name == script.fail_at
            states[node.name] = (
                "SKIPPED" if node.name in skipped else "FAILED" if failed else "SUCCEEDED"
            )
        if done < len(steps):
            states[steps[done].name] = "RUNNING"
        finished = done == len(steps)
        for node in reversed(playing):  # groups: from the innermost out
            if node.kind != "dag" or node.name in skipped:
                continue
            below = [states[child] for child in node.children if child in states]
            if not below:
                continue
            if "FAILED" in below and finished:
                states[node.name] = "FAILED"
            elif finished or (len(below) == len(node.children) and "RUNNING" not in below):
                states[node.name] = "SUCCEEDED"
            else:
                states[node.name] = "RUNNING"
        # Sorted by node name, as toModelTasks sorts the workflow's nodes.
        details = [self._task(run_id, by_name[name], states[name]) for name in sorted(states)]
        if not finished:
            run.state = "RUNNING"
        elif script.fail_at is not None:
            run.state = "FAILED"
            run.finished_at = _now()
        else:
            run.state = "SUCCEEDED"
            run.finished_at = _now()
        run.run_details = models.V2beta1RunDetails(task_details=details)
        return run

    def _list_runs(self, query: dict, **_: object) -> object:
        found = list(self.runs.values())
        if query.get("experiment_id"):
            found = [run for run in found if run.experiment_id == query["experiment_id"]]
        found = self._page(self._filtered(found, query), query)
        return models.V2beta1ListRunsResponse(runs=found or None, total_size=len(found))

    def _create_recurring_run(self, body: object, **_: object) -> object:
        recurring = self._parse(body, "V2beta1RecurringRun")
        # kubeflow/pipelines 2.17.0: job_server.go CreateRecurringRun and resource_manager.go
        # CreateJob (a pinned pipeline spec or version) wrap the template's error in these two.
        self._check_request(
            recurring,
            "Failed to create a recurring run: "
            "Failed to create a recurring run during scheduled workflow creation",
        )
        trigger = recurring.trigger
        if trigger is None or not (
            (trigger.cron_schedule and trigger.cron_schedule.cron) or trigger.periodic_schedule
        ):
            raise ApiError(400, 3, "recurring run has no trigger")
        cron = trigger.cron_schedule.cron if trigger.cron_schedule else None
        if cron and len(cron.split()) != 6 and not cron.startswith("@"):
            raise ApiError(400, 3, f"invalid cron {cron!r}")
        recurring.recurring_run_id = self._new_id("recurring")
        recurring.created_at = recurring.updated_at = _now()
        recurring.status = "DISABLED" if recurring.mode == "DISABLE" else "ENABLED"
        self.recurring_runs[recurring.recurring_run_id] = recurring
        return recurring

    def _list_recurring_runs(self, query: dict, **_: object) -> object:
        found = list(self.recurring_runs.values())
        if query.get("experiment_id"):
            found = [item for item in found if item.experiment_id == query["experiment_id"]]
        found = self._page(self._filtered(found, query), query)
        return models.V2beta1ListRecurringRunsResponse(
            recurring_runs=found or None, total_size=len(found)
        )

    def _get_recurring_run(self, recurring_run_id: str, **_: object) -> object:
        if recurring_run_id not in self.recurring_runs:
            raise ApiError(404, 5, f"recurring run {recurring_run_id!r} not found")
        return self.recurring_runs[recurring_run_id]

    def _delete_recurring_run(self, recurring_run_id: str, **_: object) -> object:
        self._get_recurring_run(recurring_run_id)
        del self.recurring_runs[recurring_run_id]
        return {}

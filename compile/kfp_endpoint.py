"""Submit and schedule compiled pipelines on a Kubeflow Pipelines endpoint with the kfp SDK client.

Authentication is what the kfp SDK does, fed from the environment so that no credential is ever a
command-line argument (arguments land in shell histories and CI logs):

- ``--endpoint`` / ``KF_PIPELINES_ENDPOINT``: the API's address (e.g. ``https://kfp.example.com``
  or a ``kubectl port-forward`` address). Without it, the kfp client finds the cluster itself: the
  in-cluster service when running in a pod, else the current kube config context (``--kube-context``
  to choose another) through the Kubernetes API server's service proxy.
- ``KF_PIPELINES_TOKEN``: a bearer token (e.g. a Kubeflow profile's service account token, or
  ``gcloud auth print-access-token``), sent as ``Authorization: Bearer``.
- ``--token-file`` / ``KF_PIPELINES_SA_TOKEN_PATH``: a file holding the token, read again before
  each request (a projected service account token that the kubelet rotates).
- ``KF_PIPELINES_IAP_OAUTH2_CLIENT_ID`` (and the ``KF_PIPELINES_APP_OAUTH2_*`` pair): Google
  Identity-Aware Proxy, handled by the kfp client itself.

A pipeline is uploaded once per content: the first upload creates the pipeline (its first version
is named after it by the server); later uploads add a version named ``sha256-<first 12 hex digits
of the file>`` unless one of that name exists, which is then reused. Runs and recurring runs
reference that version.

How a run ended, from its state and its tasks' states (``run_details.task_details``):

- ``succeeded``: the run's state is SUCCEEDED and no rejection task ran;
- ``rejected``: the run's state is SUCCEEDED and a rejection task succeeded. A rejection task is
  the step a gate's Else branch runs, named ``record-rejection`` in this library's pipelines
  (``record-rejection-2`` and so on when a pipeline holds several); the names are configurable.
  The run itself succeeds when a gate rejects a model: rejecting is the pipeline working.
- ``failed``: any other final state (FAILED, CANCELED, SKIPPED), or no final state in time.
"""

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path

import kfp
import kfp_server_api
import urllib3.exceptions
from kfp.client import set_volume_credentials

from kfp_mlops.components.common.errors import (
    ComponentError,
    ComponentInputError,
    ExternalSystemError,
)

TOKEN_ENV = "KF_PIPELINES_TOKEN"
TOKEN_PATH_ENV = "KF_PIPELINES_SA_TOKEN_PATH"
ENDPOINT_ENV = "KF_PIPELINES_ENDPOINT"
UI_ENDPOINT_ENV = "KF_PIPELINES_UI_ENDPOINT"

FINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "SKIPPED", "CANCELED"})
REJECTION_TASKS = ("record-rejection",)

SUCCEEDED, REJECTED, FAILED = "succeeded", "rejected", "failed"

RETRY_FIRST_SECONDS = 1.0
"""While following a run: the wait before retrying a read that failed transiently; it doubles."""
RETRY_MAX_SECONDS = 60.0
"""The longest wait between two retries."""

_OBJECT_REPR = re.compile(r"<[^<>]+ object at 0x[0-9a-f]+>: ")
_CRON_DESCRIPTOR = re.compile(
    r"^@(yearly|annually|monthly|weekly|daily|midnight|hourly|every \S+)$"
)
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,\-LW#]+$")


class EndpointError(ComponentError):
    """A Kubeflow Pipelines endpoint refused or failed a request: one line naming the endpoint.

    Its ``kind`` is ``system`` (the endpoint failed or refused: retrying may help) unless the
    request itself must change (``input``: no endpoint configured, a name already taken).
    """

    def __init__(self, message: str, kind: str = ExternalSystemError.kind) -> None:
        super().__init__(message)
        self.kind = kind


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """Where the Kubeflow Pipelines API is and how to reach it.

    Credentials come from the environment, see the module's description.

    Attributes:
        host: The API's address; None to let the kfp client find the cluster (in-cluster
            service, or the kube config context).
        namespace: The Kubeflow profile namespace (multi-user deployments); None for single-user
            ones.
        kube_context: The kube config context used when ``host`` is None; None for the current.
        token_file: A file holding a bearer token, read before each request.
    """

    host: str | None = None
    namespace: str | None = None
    kube_context: str | None = None
    token_file: str | None = None

    @property
    def label(self) -> str:
        """How error messages name the endpoint."""
        if self.host:
            return self.host.rstrip("/")
        return f"the cluster of kube config context {self.kube_context or '(current)'}"

    def run_url(self, run_id: str, environ: Mapping[str, str] = os.environ) -> str | None:
        """The run's page in the Kubeflow Pipelines UI, when the UI's address is known."""
        ui = environ.get(UI_ENDPOINT_ENV) or self.host
        return f"{ui.rstrip('/')}/#/runs/details/{run_id}" if ui else None


@dataclasses.dataclass(frozen=True)
class PipelineVersion:
    """The pipeline version that runs reference.

    Attributes:
        pipeline_id: The pipeline's id on the endpoint.
        pipeline_name: Its display name.
        version_id: The version's id.
        version_name: The version's display name.
        action: ``created pipeline``, ``uploaded version`` or ``reused version``.
    """

    pipeline_id: str
    pipeline_name: str
    version_id: str
    version_name: str
    action: str


@dataclasses.dataclass(frozen=True)
class StartedRun:
    """A run the endpoint accepted."""

    run_id: str
    run_name: str
    experiment_id: str
    experiment_name: str


@dataclasses.dataclass(frozen=True)
class TaskState:
    """One task of a run as the endpoint last reported it."""

    task_id: str
    name: str
    state: str
    error: str | None = None
    children: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class FinishedRun:
    """A run in a final state (or the last state seen, when waiting timed out).

    Attributes:
        run_id: The run.
        state: Its state: SUCCEEDED, FAILED, SKIPPED, CANCELED (or a running state on timeout).
        tasks: Every task reported, in the order first seen.
        error: The run's error message, when it has one.
        timed_out: Whether waiting ended before the run did.
    """

    run_id: str
    state: str
    tasks: list[TaskState]
    error: str | None
    timed_out: bool = False


@dataclasses.dataclass(frozen=True)
class ScheduledRun:
    """A recurring run the endpoint accepted.

    Attributes:
        recurring_run_id: Its id.
        name: Its display name.
        experiment_id: The experiment its runs go to.
        cron: Its schedule.
        replaced: Ids of the recurring runs of the same name it replaced.
    """

    recurring_run_id: str
    name: str
    experiment_id: str
    cron: str
    replaced: list[str]


def _reason(error: BaseException) -> str:
    text = str(getattr(error, "reason", None) or error)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return _OBJECT_REPR.sub("", lines[-1] if lines else type(error).__name__)


def _api_reason(error: kfp_server_api.ApiException) -> str:
    """``HTTP 404 Not Found: <the server's message>`` from an ApiException."""
    if not error.status:
        return _reason(error)
    message = ""
    if error.body:
        try:
            body = json.loads(error.body)
        except (json.JSONDecodeError, TypeError):
            body = None
        if isinstance(body, dict):
            message = str(body.get("message") or body.get("error") or "")
        elif isinstance(error.body, (str, bytes)):
            raw = (
                error.body.decode(errors="replace") if isinstance(error.body, bytes) else error.body
            )
            message = raw.strip().splitlines()[0][:300] if raw.strip() else ""
    text = f"HTTP {error.status} {error.reason or ''}".strip()
    if error.status in (401, 403):
        text += f" (check the token: {TOKEN_ENV}, --token-file or {TOKEN_PATH_ENV})"
    return f"{text}: {message}" if message else text


@contextlib.contextmanager
def _requests(endpoint: Endpoint, action: str) -> Iterator[None]:
    """Turns the kfp client's errors into one-line :class:`EndpointError`; silences its prints."""
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    except kfp_server_api.ApiException as error:
        raise EndpointError(f"{action} failed at {endpoint.label}: {_api_reason(error)}") from error
    except urllib3.exceptions.HTTPError as error:
        raise EndpointError(
            f"cannot reach Kubeflow Pipelines at {endpoint.label} ({action}): {_reason(error)}"
        ) from error


def _has_cluster_config(environ: Mapping[str, str]) -> bool:
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return True
    paths = environ.get("KUBECONFIG", str(Path.home() / ".kube" / "config"))
    return any(Path(path).is_file() for path in paths.split(os.pathsep) if path)


class _Client(kfp.Client):
    """The kfp client, with a health check that fails at once.

    ``kfp.Client`` checks the endpoint's health while it is made, in five attempts, sleeping five
    seconds after each failure (kfp 2.17.0 ``kfp/client/client.py``, ``get_kfp_healthz``): a wrong
    token would take 25 seconds to be reported.
    """

    def get_kfp_healthz(self, sleep_duration: int = 5) -> kfp_server_api.V2beta1GetHealthzResponse:
        """The endpoint's health (multi-user or not), asked once."""
        return self._healthz_api.healthz_service_get_healthz()


def connect(endpoint: Endpoint, environ: Mapping[str, str] = os.environ) -> kfp.Client:
    """A kfp client for ``endpoint``, authenticated from the environment.

    Raises:
        EndpointError: No endpoint can be found, the token settings conflict or the token file is
            missing, or the endpoint is unreachable or refuses the credentials.
    """
    host = endpoint.host or environ.get(ENDPOINT_ENV) or None
    resolved = dataclasses.replace(endpoint, host=host)
    if not host and not _has_cluster_config(environ):
        raise EndpointError(
            f"no Kubeflow Pipelines endpoint: pass --endpoint or set {ENDPOINT_ENV}, or run "
            "where a kube config (KUBECONFIG, ~/.kube/config) or the in-cluster service is found",
            ComponentInputError.kind,
        )
    token = environ.get(TOKEN_ENV) or None
    token_file = endpoint.token_file or environ.get(TOKEN_PATH_ENV) or None
    if token and token_file:
        raise EndpointError(
            f"both {TOKEN_ENV} and a token file ({token_file}) are set: use one of them",
            ComponentInputError.kind,
        )
    credentials = None
    if token_file:
        if not Path(token_file).is_file():
            raise EndpointError(f"token file {token_file} not found", ComponentInputError.kind)
        credentials = set_volume_credentials.ServiceAccountTokenVolumeCredentials(token_file)
    with _requests(resolved, "connecting"):
        return _Client(
            host=host,
            namespace=endpoint.namespace or "kubeflow",
            existing_token=token,
            credentials=credentials,
            kube_context=endpoint.kube_context,
        )


def _equals(key: str, value: str) -> str:
    """A v2beta1 list filter: ``key`` equals ``value``."""
    return json.dumps({"predicates": [{"operation": "EQUALS", "key": key, "stringValue": value}]})


def default_version_name(package: bytes) -> str:
    """``sha256-<first 12 hex digits>`` of the compiled file: one version per content."""
    return f"sha256-{hashlib.sha256(package).hexdigest()[:12]}"


def upload(
    client: kfp.Client,
    endpoint: Endpoint,
    package_path: Path,
    pipeline_name: str,
    version_name: str | None = None,
    description: str | None = None,
) -> PipelineVersion:
    """Uploads ``package_path`` as pipeline ``pipeline_name``, or as a new version of it.

    Args:
        client: From :func:`connect`.
        endpoint: The endpoint, for error messages and the namespace.
        package_path: The compiled pipeline YAML; its bytes are uploaded as they are.
        pipeline_name: The pipeline's display name on the endpoint.
        version_name: The new version's name; by default ``sha256-...`` of the file, and an
            existing version of that name is reused instead of uploading the same file again.
        description: The pipeline's or version's description.

    Raises:
        EndpointError: The endpoint refused a request, several pipelines have the name, or
            ``version_name`` was given and is taken.
    """
    auto_name = version_name is None
    name = version_name or default_version_name(package_path.read_bytes())
    with _requests(endpoint, f"looking up pipeline {pipeline_name!r}"):
        listed = (
            client.list_pipelines(
                filter=_equals("display_name", pipeline_name),
                namespace=endpoint.namespace,
                page_size=2,
            ).pipelines
            or []
        )
    if len(listed) > 1:
        raise EndpointError(
            f"{endpoint.label} has several pipelines named {pipeline_name!r}: give "
            "--pipeline-name a unique name",
            ComponentInputError.kind,
        )
    if not listed:
        with _requests(endpoint, f"uploading pipeline {pipeline_name!r}"):
            pipeline = client.upload_pipeline(
                str(package_path),
                pipeline_name=pipeline_name,
                description=description,
                namespace=endpoint.namespace,
            )
            versions = client.list_pipeline_versions(
                pipeline.pipeline_id, sort_by="created_at desc", page_size=1
            ).pipeline_versions
        if not versions:
            raise EndpointError(
                f"{endpoint.label} created pipeline {pipeline_name!r} ({pipeline.pipeline_id}) "
                "but lists no version of it"
            )
        return PipelineVersion(
            pipeline.pipeline_id,
            pipeline_name,
            versions[0].pipeline_version_id,
            versions[0].display_name,
            "created pipeline",
        )
    pipeline_id = listed[0].pipeline_id
    with _requests(endpoint, f"looking up versions of pipeline {pipeline_name!r}"):
        existing = client.list_pipeline_versions(
            pipeline_id, filter=_equals("display_name", name), page_size=1
        ).pipeline_versions
    if existing and not auto_name:
        raise EndpointError(
            f"pipeline {pipeline_name!r} at {endpoint.label} already has a version named "
            f"{name!r}: choose another --version-name",
            ComponentInputError.kind,
        )
    if existing:
        return PipelineVersion(
            pipeline_id, pipeline_name, existing[0].pipeline_version_id, name, "reused version"
        )
    with _requests(endpoint, f"uploading version {name!r} of pipeline {pipeline_name!r}"):
        version = client.upload_pipeline_version(
            str(package_path), name, pipeline_id=pipeline_id, description=description
        )
    return PipelineVersion(
        pipeline_id, pipeline_name, version.pipeline_version_id, name, "uploaded version"
    )


def _experiment_id(client: kfp.Client, endpoint: Endpoint, experiment: str) -> str:
    with _requests(endpoint, f"creating experiment {experiment!r}"):
        return client.create_experiment(experiment, namespace=endpoint.namespace).experiment_id


def start_run(
    client: kfp.Client,
    endpoint: Endpoint,
    version: PipelineVersion,
    experiment: str,
    run_name: str,
    arguments: dict[str, object],
    service_account: str | None = None,
) -> StartedRun:
    """Starts a run of ``version`` in ``experiment`` (created when missing) with ``arguments``.

    Raises:
        EndpointError: The endpoint refused a request.
    """
    experiment_id = _experiment_id(client, endpoint, experiment)
    with _requests(endpoint, f"starting run {run_name!r}"):
        run = client.run_pipeline(
            experiment_id=experiment_id,
            job_name=run_name,
            params=arguments,
            pipeline_id=version.pipeline_id,
            version_id=version.version_id,
            service_account=service_account,
        )
    return StartedRun(run.run_id, run_name, experiment_id, experiment)


def _error_message(status: object) -> str | None:
    if status is None:
        return None
    message = getattr(status, "message", None)
    return " ".join(str(message).split()) if message else None


def _tasks(run: kfp_server_api.V2beta1Run) -> list[TaskState]:
    details = run.run_details.task_details if run.run_details else None
    return [
        TaskState(
            task_id=task.task_id or task.display_name or "",
            name=task.display_name or task.task_id or "?",
            state=task.state or "RUNTIME_STATE_UNSPECIFIED",
            error=_error_message(task.error),
            children=tuple(
                str(child.task_id or child.pod_name or "") for child in task.child_tasks or []
            ),
        )
        for task in details or []
    ]


def failure_reason(tasks: list[TaskState]) -> str | None:
    """One line naming the step that failed, from the task states alone.

    The KFP backend reports a run's tasks as its Argo workflow's nodes and fills neither a task's
    ``error`` nor the run's from the component's failure (kubeflow/pipelines
    ``backend/src/apiserver/server/api_converter.go``, ``toApiPipelineTaskDetail`` and
    ``toApiRun``): a failed step shows as FAILED nodes, the step and every group holding it. The
    step is the FAILED node none of whose children failed; a ``NAME-driver`` node failing means
    step NAME never started. The component's own message is in that step's log.
    """
    failed = {task.task_id: task for task in tasks if task.state == "FAILED"}
    leaves = [
        task for task in failed.values() if not any(child in failed for child in task.children)
    ]
    if not leaves:
        return None
    parts = []
    for task in leaves:
        if task.error:
            parts.append(f"step {task.name} failed: {task.error}")
        elif task.name.endswith("-driver"):
            parts.append(
                f"step {task.name.removesuffix('-driver')} did not start: its driver failed"
            )
        else:
            parts.append(f"step {task.name} failed")
    return (
        "; ".join(parts) + " (Kubeflow Pipelines reports no reason through its API: the step's "
        "log in the run's page, or kubectl logs of its pod, says why)"
    )


def _transient(error: EndpointError) -> bool:
    """Whether the request that failed with ``error`` may succeed when sent again.

    HTTP 429 and 5xx answers, and a connection that could not be made or was lost. The kfp client
    (kfp-server-api 2.17.3, ``rest.py``, ``RESTClientObject.request``) raises ``ApiException``
    carrying the HTTP status for an answer outside 2xx, and ``ApiException`` with status 0 for an
    SSL error or a request it cannot build (not transient); a connection refused, reset or timed
    out reaches the caller as urllib3's own ``HTTPError`` (``MaxRetryError`` once urllib3's
    default three immediate retries are spent, as the client leaves ``retries`` unset).
    """
    cause = error.__cause__
    if isinstance(cause, kfp_server_api.ApiException):
        return cause.status == 429 or 500 <= (cause.status or 0) <= 599
    return isinstance(cause, urllib3.exceptions.HTTPError)


def follow_run(
    client: kfp.Client,
    endpoint: Endpoint,
    run_id: str,
    on_change: Callable[[str, str], None] = lambda name, state: None,
    poll_seconds: float = 10.0,
    timeout_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[str], None] = lambda message: None,
) -> FinishedRun:
    """Polls the run until it reaches a final state, reporting each state change.

    A read that fails transiently (HTTP 429 or 5xx, or the connection lost: see
    :func:`_transient`) is retried, 1 s later, then 2, 4 ... up to 60 s apart, until the deadline;
    the run goes on on the cluster meanwhile.

    Args:
        client: From :func:`connect`.
        endpoint: The endpoint, for error messages.
        run_id: The run to follow.
        on_change: Called with ``(task name, state)`` when a task appears or changes state (a
            ``NAME-driver`` node only when it fails), then with ``("run", state)`` when the run's
            state changes.
        poll_seconds: Seconds between two polls.
        timeout_seconds: Give up after this long (the result then has ``timed_out``); None waits
            as long as the run takes.
        clock: Monotonic seconds (replaceable in tests).
        sleep: Waits a number of seconds (replaceable in tests).
        on_retry: Called with one line saying which read failed and when it is retried.

    Raises:
        EndpointError: The endpoint refused a request, or kept failing transiently until the
            deadline (the message then says the run may still be running).
    """
    started = clock()
    last_run_state: str | None = None
    seen: dict[str, TaskState] = {}
    failures = 0
    while True:
        try:
            with _requests(endpoint, f"reading run {run_id}"):
                run = client.get_run(run_id)
        except EndpointError as error:
            if not _transient(error):
                raise
            failures += 1
            waited = clock() - started
            if timeout_seconds is not None and waited >= timeout_seconds:
                raise EndpointError(
                    f"{error}; gave up after {failures} tries at the wait's deadline "
                    f"({timeout_seconds:g} s): run {run_id} may still be running"
                ) from error
            delay = min(RETRY_FIRST_SECONDS * 2 ** (failures - 1), RETRY_MAX_SECONDS)
            if timeout_seconds is not None:
                delay = min(delay, timeout_seconds - waited)
            on_retry(f"{error}; retrying in {delay:.3g} s")
            sleep(delay)
            continue
        failures = 0
        for task in _tasks(run):
            previous = seen.get(task.task_id)
            quiet = task.name.endswith("-driver") and task.state != "FAILED"
            if (previous is None or previous.state != task.state) and not quiet:
                on_change(task.name, task.state)
            seen[task.task_id] = task
        state = run.state or "RUNTIME_STATE_UNSPECIFIED"
        if state != last_run_state:
            on_change("run", state)
            last_run_state = state
        if state in FINAL_STATES:
            tasks = list(seen.values())
            error = _error_message(run.error)
            if error is None and state == "FAILED":
                error = failure_reason(tasks)
            return FinishedRun(run_id, state, tasks, error)
        if timeout_seconds is not None and clock() - started >= timeout_seconds:
            return FinishedRun(
                run_id, state, list(seen.values()), _error_message(run.error), timed_out=True
            )
        sleep(poll_seconds)


def is_rejection_task(name: str, rejection_tasks: tuple[str, ...] = REJECTION_TASKS) -> bool:
    """Whether ``name`` is one of ``rejection_tasks``, or one of them with a ``-<n>`` suffix."""
    return any(re.fullmatch(rf"{re.escape(task)}(-\d+)?", name) for task in rejection_tasks)


def outcome(run: FinishedRun, rejection_tasks: tuple[str, ...] = REJECTION_TASKS) -> str:
    """``succeeded``, ``rejected`` or ``failed`` (see the module's description)."""
    if run.timed_out or run.state != "SUCCEEDED":
        return FAILED
    rejected = any(
        task.state == "SUCCEEDED" and is_rejection_task(task.name, rejection_tasks)
        for task in run.tasks
    )
    return REJECTED if rejected else SUCCEEDED


def check_cron(expression: str) -> str:
    """The cron expression, checked for the six-field form KFP's scheduler reads.

    KFP parses schedules with robfig/cron: six fields, seconds first (``0 0 2 * * *`` is every day
    at 02:00), or a descriptor (``@daily``, ``@every 6h``). Sources: kubeflow/pipelines@7b70c7b
    ``backend/src/crd/controller/scheduledworkflow/util/cron_schedule.go`` calls ``cron.Parse`` of
    ``github.com/robfig/cron`` v1.2.0 (go.mod), whose ``parser.go`` ``Parse`` reads (second)
    (minute) (hour) (day of month) (month) (day of week, optional): a five-field crontab would
    parse silently, shifted by one field.

    Raises:
        ValueError: Not six fields nor a descriptor; a five-field (crontab) expression gets the
            six-field one to use instead.
    """
    text = " ".join(expression.split())
    if _CRON_DESCRIPTOR.match(text):
        return text
    fields = text.split(" ") if text else []
    if len(fields) == 5:
        raise ValueError(
            f"cron {expression!r} has 5 fields; KFP's scheduler reads 6, seconds first: "
            f"use '0 {text}'"
        )
    if len(fields) != 6 or not all(_CRON_FIELD.match(field) for field in fields):
        raise ValueError(
            f"cron {expression!r} is not 6 fields (seconds minutes hours day-of-month month "
            "day-of-week, e.g. '0 0 2 * * *') nor a descriptor such as '@daily'"
        )
    return text


def check_time(value: str | None, name: str) -> str | None:
    """An RFC 3339 time (``2026-01-31T02:00:00Z``), checked; None stays None.

    Raises:
        ValueError: The value is not an RFC 3339 time with a time zone.
    """
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ValueError(
            f"{name} {value!r} is not an RFC 3339 time with a zone, e.g. 2026-01-31T02:00:00Z"
        )
    return value


def _delete_replaced(client: kfp.Client, endpoint: Endpoint, old_id: str, new_id: str) -> None:
    """Deletes the replaced recurring run ``old_id``; a failure names both runs and the way out."""
    try:
        with _requests(endpoint, f"deleting recurring run {old_id}"):
            client.delete_recurring_run(old_id)
    except EndpointError as error:
        raise EndpointError(
            f"created recurring run {new_id}, but {error}: {old_id} is still scheduled as well; "
            f"delete it, or rerun with --replace",
            error.kind,
        ) from error


def schedule(
    client: kfp.Client,
    endpoint: Endpoint,
    version: PipelineVersion,
    experiment: str,
    name: str,
    cron: str,
    arguments: dict[str, object],
    max_concurrency: int = 1,
    catchup: bool = False,
    start_time: str | None = None,
    end_time: str | None = None,
    enabled: bool = True,
    replace: bool = False,
    service_account: str | None = None,
) -> ScheduledRun:
    """Creates a recurring run of ``version`` on a cron schedule.

    Args:
        client: From :func:`connect`.
        endpoint: The endpoint, for error messages and the namespace.
        version: The pipeline version each run uses.
        experiment: The experiment the runs go to (created when missing).
        name: The recurring run's name, unique in the experiment.
        cron: Six-field cron expression or descriptor (see :func:`check_cron`).
        arguments: The runs' arguments.
        max_concurrency: The most runs of the schedule at once.
        catchup: Whether runs missed while the schedule was paused are made up.
        start_time: RFC 3339 time before which nothing runs.
        end_time: RFC 3339 time after which nothing runs.
        enabled: False to create the schedule paused.
        replace: Replace the recurring runs of the same name in the experiment: the new one is
            created first, then they are deleted.
        service_account: The Kubernetes service account the runs use.

    Raises:
        ValueError: A bad cron expression, time or concurrency.
        EndpointError: The endpoint refused a request (a failed create leaves the old recurring
            runs as they were; a failed delete names the new one and the old one still
            scheduled), or a recurring run of that name exists and ``replace`` is False.
    """
    cron = check_cron(cron)
    start_time = check_time(start_time, "start time")
    end_time = check_time(end_time, "end time")
    if max_concurrency < 1:
        raise ValueError(f"max concurrency {max_concurrency} must be 1 or more")
    experiment_id = _experiment_id(client, endpoint, experiment)
    with _requests(endpoint, f"looking up recurring run {name!r}"):
        existing = (
            client.list_recurring_runs(
                experiment_id=experiment_id, filter=_equals("display_name", name), page_size=100
            ).recurring_runs
            or []
        )
    if existing and not replace:
        ids = ", ".join(item.recurring_run_id for item in existing)
        raise EndpointError(
            f"experiment {experiment!r} at {endpoint.label} already has a recurring run named "
            f"{name!r} ({ids}): pass --replace to replace it",
            ComponentInputError.kind,
        )
    # The new recurring run is created before the old ones are deleted: a replace that fails
    # part way leaves a schedule (the old one, or both for a moment), never none.
    with _requests(endpoint, f"creating recurring run {name!r}"):
        created = client.create_recurring_run(
            experiment_id=experiment_id,
            job_name=name,
            cron_expression=cron,
            params=arguments,
            pipeline_id=version.pipeline_id,
            version_id=version.version_id,
            max_concurrency=max_concurrency,
            no_catchup=not catchup,
            start_time=start_time,
            end_time=end_time,
            enabled=enabled,
            service_account=service_account,
        )
    for item in existing:
        _delete_replaced(client, endpoint, item.recurring_run_id, created.recurring_run_id)
    return ScheduledRun(
        created.recurring_run_id,
        name,
        experiment_id,
        cron,
        [item.recurring_run_id for item in existing],
    )

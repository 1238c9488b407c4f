"""Run a pipeline on this machine with ``kfp.local``, and record what each step did.

``kfp.local`` runs each task as a subprocess and reports on standard output ("Executing task
'x'", "Task 'x' finished with status SUCCESS"). The run captures that stream to ``pipeline.log`` in
the run folder, times each step from it, and keeps each step's own lines so that a failure can be
explained by the error the step raised.
"""

import contextlib
import dataclasses
import io
import json
import logging
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from kfp import components, local
from kfp.dsl import base_component, graph_component

from kfp_mlops.compile import kfp_local_fixes
from kfp_mlops.compile.compiler import compile_to_text
from kfp_mlops.components import images
from kfp_mlops.components.common.errors import KIND_BY_NAME

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EXECUTING = re.compile(r"Executing task '([^']+)'")
_FINISHED = re.compile(r"Task '([^']+)' finished with status (\w+)")
_CACHE_HIT = re.compile(r"Task ([\w-]+) cache hit \(key=([0-9a-f]+)\)")
_PIPELINE_DONE = re.compile(r"Pipeline '([^']+)' finished with status (\w+)")
_ERROR = re.compile(r"^\s*(?:[\w.]+\.)?(\w*(?:Error|Exception|Exit)\w*): (.+)$")


@dataclasses.dataclass
class Step:
    """One task of the run, as it happened."""

    name: str
    status: str = "skipped"
    seconds: float | None = None
    error: str | None = None
    error_kind: str | None = None
    lines: list[str] = dataclasses.field(default_factory=list, repr=False)
    cache_key: str | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass
class LocalRun:
    """The outcome of a local run: each step, its outputs, and where everything was written."""

    pipeline: str
    status: str
    run_dir: Path
    seconds: float
    steps: list[Step]
    outputs: dict[str, dict]
    error: str | None = None
    error_kind: str | None = None


class _StepRecorder(io.TextIOBase):
    """A text stream that writes through to a log file and turns kfp.local's lines into steps."""

    def __init__(
        self,
        log: TextIO,
        on_step: Callable[[Step], None],
        on_start: Callable[[Step], None] = lambda step: None,
        on_line: Callable[[Step, str], None] = lambda step, line: None,
    ) -> None:
        self._log = log
        self._on_step = on_step
        self._on_start = on_start
        self._on_line = on_line
        self._pending = ""
        self._current: Step | None = None
        self._started = 0.0
        self.steps: dict[str, Step] = {}
        self.pipeline_status: str | None = None

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._log.write(text)
        self._pending += text
        *complete, self._pending = self._pending.split("\n")
        for line in complete:
            self._line(_ANSI.sub("", line))
        return len(text)

    def flush(self) -> None:
        self._log.flush()

    def _line(self, line: str) -> None:
        if match := _EXECUTING.search(line):
            self._current = self.steps.setdefault(match.group(1), Step(match.group(1)))
            self._current.status = "running"
            self._started = time.perf_counter()
            self._on_start(self._current)
        elif match := _FINISHED.search(line):
            step = self.steps.setdefault(match.group(1), Step(match.group(1)))
            step.status = "succeeded" if match.group(2) == "SUCCESS" else "failed"
            step.seconds = round(time.perf_counter() - self._started, 3)
            if step.status == "failed":
                step.error_kind, step.error = _last_error(step.lines)
            self._current = None
            self._on_step(step)
        elif match := _CACHE_HIT.search(line):
            step = self.steps.setdefault(match.group(1), Step(match.group(1)))
            step.status, step.seconds, step.cache_key = "cached", 0.0, match.group(2)
            self._on_step(step)
        elif match := _PIPELINE_DONE.search(line):
            self.pipeline_status = "succeeded" if match.group(2) == "SUCCESS" else "failed"
        elif self._current is not None:
            self._current.lines.append(line)
            self._on_line(self._current, line)


def _last_error(lines: list[str]) -> tuple[str | None, str | None]:
    """The kind and message of the last exception line a failed step printed.

    The kind is ``input``, ``system``, or ``error`` for another exception.
    """
    for line in reversed(lines):
        if match := _ERROR.match(line):
            return KIND_BY_NAME.get(match.group(1), "error"), match.group(2).strip()
    return None, None


def task_names(pipeline: graph_component.GraphComponent) -> list[str]:
    """Every task that runs a container, including those inside conditions, in definition order."""
    spec = pipeline.pipeline_spec
    names: list[str] = []

    def walk(dag: object) -> None:
        for name, task in dag.tasks.items():
            component = spec.components[task.component_ref.name]
            if component.WhichOneof("implementation") == "dag":
                walk(component.dag)
            else:
                names.append(name)

    walk(spec.root.dag)
    return names


def read_task_outputs(pipeline_root: Path, pipeline_run: str = "*") -> dict[str, dict]:
    """Task name to its ``executor_output.json`` (parameters and artifacts), for tasks that ran.

    Args:
        pipeline_root: kfp.local's pipeline root: one folder per pipeline run, one per task.
        pipeline_run: The pipeline run's folder to read; by default every run's (a later run's
            task wins).
    """
    outputs: dict[str, dict] = {}
    for path in sorted(pipeline_root.glob(f"{pipeline_run}/*/executor_output.json")):
        outputs[path.parent.name] = json.loads(path.read_text(encoding="utf-8"))
    return outputs


def _as_executor_output(entry: dict[str, object]) -> dict[str, dict]:
    """A kfp.local cache entry in the shape of ``executor_output.json``.

    Output names to values or serialized artifacts, as ``parameterValues`` and ``artifacts``.

    The entry's shape is kfp.local's (kfp/local/cache.py 2.17, ``LocalCache._serialize_outputs``):
    an artifact is a dict marked ``__kfp_artifact__`` with its name, uri and metadata; a list of
    artifacts is marked ``__kfp_artifact_list__``.
    """
    parameters: dict[str, object] = {}
    artifacts: dict[str, dict] = {}
    for name, value in entry.items():
        if isinstance(value, dict) and value.get("__kfp_artifact__"):
            artifacts[name] = {"artifacts": [value]}
        elif isinstance(value, dict) and value.get("__kfp_artifact_list__"):
            artifacts[name] = {"artifacts": list(value.get("artifacts", []))}
        else:
            parameters[name] = value
    return {"parameterValues": parameters, "artifacts": artifacts}


def read_cached_outputs(cache_root: Path, steps: list[Step]) -> dict[str, dict]:
    """Task name to its outputs, for the steps answered from kfp.local's cache in ``cache_root``.

    kfp.local writes no ``executor_output.json`` for a cached task; its log names the first 12
    hex digits of the cache key, and the entry is ``<cache_root>/<key>.json``.
    """
    outputs: dict[str, dict] = {}
    for step in steps:
        if step.status != "cached" or not step.cache_key:
            continue
        for path in sorted(cache_root.glob(f"{step.cache_key}*.json"))[:1]:
            outputs[step.name] = _as_executor_output(json.loads(path.read_text(encoding="utf-8")))
    return outputs


def compiled_for_local_run(
    pipeline: graph_component.GraphComponent,
) -> base_component.BaseComponent:
    """The pipeline as its compiled YAML loads back: what a cluster would run, runnable locally.

    Running the compiled spec rather than the Python object also avoids a kfp.local 2.17 bug: an
    in-process pipeline whose parameter defaults to an empty dict fails with "Unknown value type".
    """
    return components.load_component_from_text(compile_to_text(pipeline, images.DEFAULT_SETTINGS))


@contextlib.contextmanager
def _pipeline_run_names() -> Iterator[list[str]]:
    """The names kfp.local gives the pipeline runs started in this block, in a list it fills.

    kfp.local names a pipeline run's folder under the pipeline root ``<pipeline>-<timestamp>``, by
    calling ``executor_input_utils.get_local_pipeline_resource_name`` once per pipeline run and
    logging no name (kfp/local/pipeline_orchestrator.py 2.17,
    ``_run_local_pipeline_implementation``); the wrapper records what it returns, so that a reused
    run folder reports only this run.
    """
    from kfp.local import executor_input_utils

    original = executor_input_utils.get_local_pipeline_resource_name
    names: list[str] = []

    def recorded(pipeline_name: str) -> str:
        names.append(original(pipeline_name))
        return names[-1]

    executor_input_utils.get_local_pipeline_resource_name = recorded
    try:
        yield names
    finally:
        executor_input_utils.get_local_pipeline_resource_name = original


@contextlib.contextmanager
def _cache_hits_logged(stream: TextIO) -> Iterator[None]:
    """Routes kfp.local's cache-hit lines to ``stream`` while a pipeline runs.

    kfp.local logs a cache hit with ``logging.info`` outside its own logger set-up
    (kfp/local/orchestrator/task_executor.py, 2.17), where the root logger's default level drops
    it: without this, a cached step would look skipped. Warnings still reach standard error.
    """
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    hits = logging.StreamHandler(stream)
    hits.addFilter(lambda record: "cache hit" in record.getMessage())
    added = [hits]
    if not handlers:  # logging's last resort printed warnings to stderr; keep that
        warnings_out = logging.StreamHandler(sys.stderr)
        warnings_out.setLevel(logging.WARNING)
        added.append(warnings_out)
    for handler in added:
        root.addHandler(handler)
    root.setLevel(min(level or logging.WARNING, logging.INFO))
    try:
        yield
    finally:
        root.setLevel(level)
        for handler in added:
            root.removeHandler(handler)


def run_locally(
    pipeline: graph_component.GraphComponent,
    arguments: dict[str, object],
    run_dir: Path,
    on_step: Callable[[Step], None] = lambda step: None,
    enable_caching: bool = False,
    on_start: Callable[[Step], None] = lambda step: None,
    on_line: Callable[[Step, str], None] = lambda step, line: None,
) -> LocalRun:
    """Runs ``pipeline`` with ``kfp.local.SubprocessRunner`` in the current Python environment.

    The pipeline runs as its compiled YAML loads back, with the workaround of
    :mod:`kfp_mlops.compile.kfp_local_fixes` (a lone ``dsl.If`` on a named output, such as a gate's
    ``approved``, runs its branch). The ``python3`` first on PATH runs the steps.

    Args:
        pipeline: The pipeline to run.
        arguments: Its arguments, already typed.
        run_dir: The run folder: ``pipeline.log`` and ``outputs/`` (the pipeline root) go there.
            A folder used before keeps the earlier runs' outputs; the result holds this run's.
        on_step: Called as each step finishes, for progress reporting.
        enable_caching: Reuse the outputs of identical earlier tasks (kfp.local's file cache).
        on_start: Called as each step starts.
        on_line: Called with each line a running step writes.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    pipeline_root = run_dir / "outputs"
    cache_root = run_dir.parent / ".kfp_cache"
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(pipeline_root),
        raise_on_error=True,
        enable_caching=enable_caching,
        cache_root=str(cache_root) if enable_caching else None,
    )
    started = time.perf_counter()
    with open(run_dir / "pipeline.log", "w", encoding="utf-8") as log:
        recorder = _StepRecorder(log, on_step, on_start, on_line)
        failure: str | None = None
        with (
            contextlib.redirect_stdout(recorder),
            warnings.catch_warnings(),
            kfp_local_fixes.named_output_conditions(),
            _cache_hits_logged(recorder),
            _pipeline_run_names() as pipeline_runs,
        ):
            # Expected: the components name their container image, and run here without it.
            warnings.filterwarnings("ignore", "You may be attemping to run a task that uses custom")
            try:
                compiled_for_local_run(pipeline)(**arguments)
            except RuntimeError as error:
                failure = _ANSI.sub("", str(error))
            recorder.write("\n")
    seconds = round(time.perf_counter() - started, 3)

    # Steps that ran, in the order they ran, then those a condition skipped.
    steps = list(recorder.steps.values())
    steps += [Step(name) for name in task_names(pipeline) if name not in recorder.steps]
    failed = next((step for step in steps if step.status == "failed"), None)
    status = (
        "failed" if failure or failed or recorder.pipeline_status != "succeeded" else "succeeded"
    )
    error = error_kind = None
    if status == "failed":
        if failed is not None:
            error_kind = failed.error_kind
            error = f"{failed.name}: {failed.error or 'failed (see pipeline.log)'}"
        else:
            error = failure or "the pipeline did not finish (see pipeline.log)"
    return LocalRun(
        pipeline=pipeline.name,
        status=status,
        run_dir=run_dir,
        seconds=seconds,
        steps=steps,
        outputs=read_cached_outputs(cache_root, steps)
        | (read_task_outputs(pipeline_root, pipeline_runs[-1]) if pipeline_runs else {}),
        error=error,
        error_kind=error_kind,
    )


def default_run_dir(pipeline_name: str, base: Path = Path("runs")) -> Path:
    """A new run folder ``runs/<pipeline>-<timestamp>[-N]``, created, so no other run can take it.

    The folder is claimed with an exclusive ``mkdir``: of two runs started in the same second, one
    gets ``-<timestamp>`` and the other ``-<timestamp>-2``.
    """
    base.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = base / f"{pipeline_name}-{stamp}"
    suffix = 1
    while True:
        try:
            candidate.mkdir(exist_ok=False)
        except FileExistsError:
            suffix += 1
            candidate = base / f"{pipeline_name}-{stamp}-{suffix}"
        else:
            return candidate.resolve()

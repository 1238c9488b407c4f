"""``kfp-mlops submit``."""

import json
import sys
import time
from typing import Any

import click

from kfp_mlops.compile.commands.kfp_options import (
    PIPELINE_HELP,
    pipeline_options,
    upload,
)
from kfp_mlops.compile.commands.options import endpoint_options
from kfp_mlops.compile.exits import EXIT_FAILED, EXIT_REJECTED, fail

_REJECTION_TASKS = ("record-rejection",)


def _progress(name: str, state: str) -> None:
    click.echo(f"  {state:<10} {name}", err=True)


def _retrying(message: str) -> None:
    click.echo(f"  {message}", err=True)


DEFAULT_WAIT_SECONDS = 21600.0
"""How long ``--wait`` follows a run by default: a CI job never waits forever."""


@click.command("submit", epilog=PIPELINE_HELP)
@click.argument("pipeline")
@pipeline_options
@endpoint_options
@click.option("--run-name", help="Name of the run [default: PIPELINE-YYYYMMDD-HHMMSS, UTC].")
@click.option(
    "--wait",
    is_flag=True,
    help="Follow the run to its end, printing each task's state; exit 0 when it succeeded, 1 "
    "when it failed, 3 when it succeeded but a gate rejected the model.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="With --wait: stop waiting after this long and exit 1 (the run goes on); 0 for no limit "
    "[default: 21600, 6 hours].",
)
@click.option(
    "--poll-seconds",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="With --wait: seconds between two reads of the run.",
)
@click.option(
    "--rejection-task",
    "rejection_tasks",
    multiple=True,
    default=_REJECTION_TASKS,
    show_default=True,
    help="A task whose success means a gate rejected the model (also matches NAME-<n>).",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Run every task afresh: the uploaded version has KFP's cache turned off for all tasks.",
)
def submit_command(
    pipeline: str,
    experiment: str,
    service_account: str | None,
    as_json: bool,
    run_name: str | None,
    wait: bool,
    timeout: float | None,
    poll_seconds: float,
    rejection_tasks: tuple[str, ...],
    no_cache: bool,
    **upload_options: Any,
) -> None:
    """Uploads PIPELINE to a Kubeflow Pipelines endpoint and starts a run of it.

    The pipeline is uploaded once per content (a new version when it changed), the run goes to
    --experiment with the --param arguments. Without --wait the command ends once the run is
    accepted (exit 0).
    """
    from kfp_mlops.compile import kfp_endpoint

    uploaded = upload(pipeline, no_cache=no_cache, **upload_options)
    client, target, version = uploaded.client, uploaded.target, uploaded.version
    name = run_name or f"{uploaded.name}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    try:
        started = kfp_endpoint.start_run(
            client, target, version, experiment, name, uploaded.arguments, service_account
        )
    except kfp_endpoint.EndpointError as error:
        fail(error)
    url = target.run_url(started.run_id) if target.host else None
    click.echo(f"run {started.run_name} started: {url or started.run_id}", err=True)
    result: dict[str, object] = {
        "pipeline": version.pipeline_name,
        "pipeline_id": version.pipeline_id,
        "version_name": version.version_name,
        "version_id": version.version_id,
        "upload": version.action,
        "experiment": started.experiment_name,
        "experiment_id": started.experiment_id,
        "run_name": started.run_name,
        "run_id": started.run_id,
        "run_url": url,
        "arguments": uploaded.arguments,
    }
    if not wait:
        _print(result, as_json)
        return
    try:
        finished = kfp_endpoint.follow_run(
            client,
            target,
            started.run_id,
            on_change=_progress,
            poll_seconds=poll_seconds,
            timeout_seconds=wait_deadline(timeout),
            on_retry=_retrying,
        )
    except kfp_endpoint.EndpointError as error:
        fail(error)
    ended = kfp_endpoint.outcome(finished, rejection_tasks)
    result.update(
        {
            "state": finished.state,
            "outcome": ended,
            "timed_out": finished.timed_out,
            "error": finished.error,
            "tasks": [
                {"name": task.name, "state": task.state, "error": task.error}
                for task in finished.tasks
            ],
        }
    )
    _print(result, as_json)
    if ended == kfp_endpoint.FAILED:
        sys.exit(EXIT_FAILED)
    if ended == kfp_endpoint.REJECTED:
        sys.exit(EXIT_REJECTED)


def wait_deadline(timeout: float | None) -> float | None:
    """``--timeout`` as follow_run takes it: the default when not given, None (no limit) for 0."""
    if timeout is None:
        return DEFAULT_WAIT_SECONDS
    return None if timeout == 0 else timeout


def _print(result: dict[str, object], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    lines = [f"run {result['run_name']} ({result['run_id']})"]
    if result["run_url"]:
        lines.append(f"  {result['run_url']}")
    if "outcome" in result:
        verdict = {
            "succeeded": "SUCCEEDED",
            "rejected": "SUCCEEDED, but a gate REJECTED the model",
            "failed": "FAILED",
        }[str(result["outcome"])]
        if result["timed_out"]:
            verdict = f"still {result['state']} when waiting timed out"
        lines.append(f"  outcome: {verdict}")
        if result["error"]:
            lines.append(f"  error: {result['error']}")
        failed = [task for task in result["tasks"] if task["state"] == "FAILED"]
        for task in failed:
            lines.append(f"  failed task {task['name']}: {task['error'] or '(no message)'}")
    click.echo("\n".join(lines))

"""``kfp-mlops schedule``."""

import json
from typing import Any

import click

from kfp_mlops.compile.commands.kfp_options import (
    PIPELINE_HELP,
    pipeline_options,
    upload,
)
from kfp_mlops.compile.commands.options import endpoint_options
from kfp_mlops.compile.exits import fail


@click.command("schedule", epilog=PIPELINE_HELP)
@click.argument("pipeline")
@click.option(
    "--cron",
    required=True,
    help="When to run: 6 fields, seconds first ('0 0 2 * * *' is every day at 02:00, in the "
    "scheduler's time zone, usually UTC), or a descriptor such as '@daily'.",
)
@click.option("--name", help="Name of the recurring run [default: PIPELINE-schedule].")
@pipeline_options
@endpoint_options
@click.option(
    "--max-concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="The most runs of the schedule at once.",
)
@click.option(
    "--catchup/--no-catchup",
    default=False,
    show_default=True,
    help="Make up the runs missed while the schedule was paused.",
)
@click.option(
    "--start-time", metavar="RFC3339", help="Nothing runs before, e.g. 2026-02-01T00:00:00Z."
)
@click.option("--end-time", metavar="RFC3339", help="Nothing runs after.")
@click.option("--paused", is_flag=True, help="Create the schedule disabled.")
@click.option(
    "--replace",
    is_flag=True,
    help="Replace the recurring runs of the same name in the experiment (else that is an error).",
)
def schedule_command(
    pipeline: str,
    cron: str,
    name: str | None,
    experiment: str,
    service_account: str | None,
    as_json: bool,
    max_concurrency: int,
    catchup: bool,
    start_time: str | None,
    end_time: str | None,
    paused: bool,
    replace: bool,
    **upload_options: Any,
) -> None:
    """Uploads PIPELINE to a Kubeflow Pipelines endpoint and runs it on a cron schedule.

    \b
    For example, the drift check every night at 02:00 (UTC on most clusters):
      kfp-mlops schedule retrain-on-drift --cron '0 0 2 * * *' --experiment nightly \\
        --param reference_uri=s3://bucket/train.parquet --param current_uri=... \\
        --param target_column=label --param mlflow_tracking_uri=http://mlflow:5000
    """
    from kfp_mlops.compile import kfp_endpoint

    try:
        kfp_endpoint.check_cron(cron)
        kfp_endpoint.check_time(start_time, "start time")
        kfp_endpoint.check_time(end_time, "end time")
    except ValueError as error:
        raise click.BadParameter(str(error)) from error
    uploaded = upload(pipeline, **upload_options)
    version = uploaded.version
    try:
        scheduled = kfp_endpoint.schedule(
            uploaded.client,
            uploaded.target,
            version,
            experiment,
            name or f"{uploaded.name}-schedule",
            cron,
            uploaded.arguments,
            max_concurrency=max_concurrency,
            catchup=catchup,
            start_time=start_time,
            end_time=end_time,
            enabled=not paused,
            replace=replace,
            service_account=service_account,
        )
    except kfp_endpoint.EndpointError as error:
        fail(error)
    result = {
        "recurring_run_id": scheduled.recurring_run_id,
        "name": scheduled.name,
        "cron": scheduled.cron,
        "enabled": not paused,
        "experiment": experiment,
        "experiment_id": scheduled.experiment_id,
        "pipeline": version.pipeline_name,
        "pipeline_id": version.pipeline_id,
        "version_name": version.version_name,
        "version_id": version.version_id,
        "upload": version.action,
        "replaced": scheduled.replaced,
        "arguments": uploaded.arguments,
    }
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    state = "paused" if paused else "enabled"
    lines = [
        f"recurring run {scheduled.name} ({scheduled.recurring_run_id}): '{scheduled.cron}', "
        f"{state}, experiment {experiment}"
    ]
    if scheduled.replaced:
        lines.append(f"  replaced: {', '.join(scheduled.replaced)}")
    click.echo("\n".join(lines))

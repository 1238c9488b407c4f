"""``kfp-mlops run``."""

import json
import sys
from pathlib import Path

import click

from kfp_mlops.compile.exits import EXIT_REJECTED, exit_code


@click.command("run")
@click.argument("name")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A pipeline parameter; numbers and booleans are parsed, dicts and lists as JSON.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run folder (default: runs/NAME-TIMESTAMP): logs, outputs, the MLflow database.",
)
@click.option("--cache", is_flag=True, help="Reuse outputs of identical earlier tasks.")
@click.option(
    "--follow/--no-follow",
    default=None,
    help="Print each step's own lines (epochs, trials, rollout stages) prefixed by the step's "
    "name, on standard error. Default: on when standard error is a terminal.",
)
def run_command(
    name: str,
    params: tuple[str, ...],
    as_json: bool,
    run_dir: Path | None,
    cache: bool,
    follow: bool | None,
) -> None:
    """Runs pipeline NAME on this machine with kfp.local, then prints what happened.

    Each step is shown on standard error as it starts, with its elapsed time while it runs (redrawn
    in place on a terminal), and as it finishes. The run folder gets index.html: the steps and
    links to every report the run wrote. Without an mlflow_tracking_uri parameter, MLflow writes
    to a SQLite database in the run folder.
    """
    from kfp_mlops.compile import catalog, local_run, parameters, progress, run_index, summary

    pipelines = catalog.pipelines()
    if name not in pipelines:
        raise click.BadParameter(
            f"unknown pipeline {name!r}; choose one of: {', '.join(pipelines)}", param_hint="NAME"
        )
    pipeline = pipelines[name]
    try:
        arguments = parameters.parse_arguments(pipeline, params)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--param") from error
    defaulted = {"mlflow_tracking_uri"} & set(parameters.parameter_types(pipeline))
    missing = [
        key
        for key in parameters.required_parameters(pipeline)
        if key not in arguments and key not in defaulted
    ]
    if missing:
        raise click.BadParameter(
            f"pipeline {name!r} needs {', '.join(f'{key}=...' for key in missing)}",
            param_hint="--param",
        )
    # Claimed only now, so that a usage error leaves no empty run folder behind.
    folder = (run_dir or local_run.default_run_dir(name)).resolve()
    if defaulted:
        arguments.setdefault("mlflow_tracking_uri", f"sqlite:///{folder / 'mlflow.db'}")
    if not as_json:
        click.echo(f"Running {name} in {folder}", err=True)
    terminal = sys.stderr.isatty()
    shown = progress.Progress(
        sys.stderr, follow=terminal if follow is None else follow, live=terminal
    )
    try:
        with progress.unbuffered_steps():
            run = local_run.run_locally(
                pipeline,
                arguments,
                folder,
                shown.finished,
                enable_caching=cache,
                on_start=shown.started,
                on_line=shown.line,
            )
    finally:
        shown.close()
    result = summary.summarize(run)
    index = run_index.write_index(result, pipeline, run.outputs)
    if not as_json:
        click.echo(f"Run page: {index}", err=True)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(summary.render(result))
    if result["status"] != "succeeded":
        sys.exit(exit_code(result["error_kind"]))
    if result["gate"] is not None and not result["gate"]["approved"]:
        sys.exit(EXIT_REJECTED)

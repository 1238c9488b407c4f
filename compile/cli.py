"""``kfp-mlops``: compile pipelines and components, run them on this machine, list them."""

import json
import sys
from pathlib import Path

import click

from kfp_mlops.components import images

EXIT_FAILED = 1
EXIT_REJECTED = 3
"""``run`` exits 0 when the run succeeds, 1 when it fails, 3 when it succeeds but the gate rejects
the model (so CI can tell a broken run from a model that is not good enough); click uses 2 for usage
errors."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(images.PACKAGE_VERSION, prog_name="kfp-mlops")
def main() -> None:
    """Kubeflow Pipelines components and pipelines for the whole MLOps loop."""


@main.command("list")
def list_command() -> None:
    """Lists the pipelines and components with their one-line descriptions."""
    from kfp_mlops.compile import catalog

    for title, items in (("Pipelines", catalog.pipelines()), ("Components", catalog.components())):
        click.echo(title)
        width = max(len(name) for name in items)
        for name, component in items.items():
            click.echo(f"  {name:<{width}}  {catalog.description(component)}")
        click.echo()


def _image_settings(registry: str, tag: str) -> images.ImageSettings:
    try:
        return images.ImageSettings(registry=registry, tag=tag)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


@main.command("compile")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dist"),
    show_default=True,
    help="Folder that receives pipelines/NAME.yaml and components/NAME.yaml.",
)
@click.option(
    "--image-registry",
    default=images.DEFAULT_REGISTRY,
    show_default=True,
    help="Registry and namespace of the component images.",
)
@click.option(
    "--image-tag",
    default=images.PACKAGE_VERSION,
    show_default=True,
    help="Tag of the component images (never 'latest').",
)
def compile_command(out_dir: Path, image_registry: str, image_tag: str) -> None:
    """Compiles every pipeline and component to YAML."""
    from kfp_mlops.compile.compiler import compile_all

    settings = _image_settings(image_registry, image_tag)
    for path in compile_all(out_dir, settings):
        click.echo(str(path))


def _progress(step: object) -> None:
    seconds = "" if step.seconds is None else f" {step.seconds:.1f} s"
    click.echo(f"  {step.status:<9} {step.name}{seconds}", err=True)


@main.command("run")
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
def run_command(
    name: str, params: tuple[str, ...], as_json: bool, run_dir: Path | None, cache: bool
) -> None:
    """Runs pipeline NAME on this machine with kfp.local, then prints what happened.

    Without an mlflow_tracking_uri parameter, MLflow writes to a SQLite database in the run folder.
    """
    from kfp_mlops.compile import catalog, local_run, parameters, summary

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
    folder = (run_dir or local_run.default_run_dir(name)).resolve()
    if "mlflow_tracking_uri" in parameters.parameter_types(pipeline):
        arguments.setdefault("mlflow_tracking_uri", f"sqlite:///{folder / 'mlflow.db'}")
    missing = [key for key in parameters.required_parameters(pipeline) if key not in arguments]
    if missing:
        raise click.BadParameter(
            f"pipeline {name!r} needs {', '.join(f'{key}=...' for key in missing)}",
            param_hint="--param",
        )
    if not as_json:
        click.echo(f"Running {name} in {folder}", err=True)
    result = summary.summarize(
        local_run.run_locally(pipeline, arguments, folder, _progress, enable_caching=cache)
    )
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(summary.render(result))
    if result["status"] != "succeeded":
        sys.exit(EXIT_FAILED)
    if result["gate"] is not None and not result["gate"]["approved"]:
        sys.exit(EXIT_REJECTED)


SAMPLE_DATASETS = ("breast-cancer", "iris", "wine", "digits")


@main.command("sample-data")
@click.argument("name", type=click.Choice(SAMPLE_DATASETS))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def sample_data_command(name: str, out: Path) -> None:
    """Writes one of scikit-learn's bundled datasets to OUT as CSV, its label in column 'target'."""
    from kfp_mlops.components.atomic import atomic_file

    loaders = {
        "breast-cancer": "load_breast_cancer",
        "iris": "load_iris",
        "wine": "load_wine",
        "digits": "load_digits",
    }
    import sklearn.datasets

    frame = getattr(sklearn.datasets, loaders[name])(as_frame=True).frame
    with atomic_file(out) as temporary:
        frame.to_csv(temporary, index=False)
    click.echo(f"{out}: {len(frame)} rows, {frame.shape[1] - 1} features, label column 'target'")

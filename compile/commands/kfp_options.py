"""What ``submit`` and ``schedule`` share: the pipeline options, the pipeline, its arguments."""

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from kfp_mlops.compile.commands.options import image_options, image_settings
from kfp_mlops.compile.exits import fail
from kfp_mlops.components import images

PIPELINE_HELP = (
    "PIPELINE is a compiled pipeline YAML file (uploaded byte for byte), or the name of a "
    "pipeline of this library, compiled first with --image-registry and --image-tag."
)


def pipeline_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds --param, --experiment, naming, --service-account, --json and the image options.

    The image options are :func:`.options.image_options`, used when PIPELINE is a name of this
    library.
    """
    options = [
        click.option(
            "--param",
            "params",
            multiple=True,
            metavar="KEY=VALUE",
            help="A pipeline parameter; numbers and booleans are parsed, dicts and lists as JSON.",
        ),
        click.option(
            "--experiment",
            default="kfp-mlops",
            show_default=True,
            help="Experiment the runs go to (created when missing).",
        ),
        click.option(
            "--pipeline-name",
            help="Pipeline name on the endpoint [default: the compiled pipeline's name].",
        ),
        click.option(
            "--version-name",
            help="Name of the uploaded version [default: sha256-<12 hex> of the file; an "
            "existing version of that name is reused].",
        ),
        click.option("--description", help="Description of the uploaded pipeline or version."),
        click.option("--service-account", help="Kubernetes service account the runs use."),
        click.option(
            "--json", "as_json", is_flag=True, help="Print the result as one JSON object."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return image_options(command)


@dataclasses.dataclass(frozen=True)
class PreparedPipeline:
    """A compiled pipeline ready to upload, and its typed arguments."""

    package_path: Path
    name: str
    arguments: dict[str, object]


@dataclasses.dataclass(frozen=True)
class _CompiledPipeline:
    """A compiled file's PipelineSpec, which is all that typing the arguments reads."""

    pipeline_spec: Any


def _load_compiled(path: Path) -> _CompiledPipeline:
    """Reads a compiled pipeline file once (libyaml when present: these files are large)."""
    import yaml
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        documents = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader))
        document = documents[0] if documents else None
        if not isinstance(document, dict) or "pipelineInfo" not in document:
            raise ValueError("no pipelineInfo in its first YAML document")
        spec = json_format.ParseDict(document, pipeline_spec_pb2.PipelineSpec())
    except (yaml.YAMLError, UnicodeDecodeError, json_format.ParseError, ValueError) as error:
        reason = " ".join(str(error).split())
        raise click.BadParameter(
            f"{path} is not a compiled pipeline ({reason})", param_hint="PIPELINE"
        ) from error
    return _CompiledPipeline(spec)


def prepare(
    source: str,
    params: tuple[str, ...],
    settings: images.ImageSettings,
    folder: Path,
) -> PreparedPipeline:
    """The compiled file of ``source`` and the ``--param`` pairs typed as its parameters.

    A library pipeline is compiled into ``folder``; usage errors are click errors.
    """
    from kfp_mlops.compile import catalog, parameters
    from kfp_mlops.compile.compiler import compile_to_text
    from kfp_mlops.components.common.atomic import write_text

    path = Path(source)
    pipelines = catalog.pipelines()
    if path.is_file():
        pipeline = _load_compiled(path)
    elif source in pipelines:
        path = folder / f"{source}.yaml"
        write_text(path, compile_to_text(pipelines[source], settings))
        pipeline = _CompiledPipeline(pipelines[source].pipeline_spec)
    else:
        raise click.BadParameter(
            f"{source!r} is neither a file nor a pipeline of this library ({', '.join(pipelines)})",
            param_hint="PIPELINE",
        )
    try:
        arguments = parameters.parse_arguments(pipeline, params)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--param") from error
    missing = [key for key in parameters.required_parameters(pipeline) if key not in arguments]
    name = pipeline.pipeline_spec.pipeline_info.name
    if missing:
        raise click.BadParameter(
            f"pipeline {name!r} needs {', '.join(f'{key}=...' for key in missing)}",
            param_hint="--param",
        )
    return PreparedPipeline(path, name, arguments)


@dataclasses.dataclass(frozen=True)
class Uploaded:
    """A pipeline uploaded to an endpoint: the client, where, what and its typed arguments."""

    client: Any
    target: Any
    name: str
    arguments: dict[str, object]
    version: Any


def upload(
    pipeline: str,
    params: tuple[str, ...],
    *,
    image_registry: str,
    image_tag: str,
    image_digests: tuple[str, ...],
    pipeline_name: str | None,
    version_name: str | None,
    description: str | None,
    endpoint: str | None,
    namespace: str | None,
    kube_context: str | None,
    token_file: Path | None,
    no_cache: bool = False,
) -> Uploaded:
    """Prepares PIPELINE, connects to the endpoint and uploads the pipeline or a new version.

    See :func:`prepare`; the upload is reported on stderr; endpoint errors are click errors.

    The keyword arguments are the values of :func:`pipeline_options` and
    :func:`.options.endpoint_options` of the same names: a command passes on what it does not
    use itself as ``**upload_options``. With ``no_cache`` the uploaded file has every task's
    caching turned off (see :mod:`kfp_mlops.compile.caching`), a version of its own.
    """
    import tempfile

    from kfp_mlops.compile import kfp_endpoint

    target = kfp_endpoint.Endpoint(
        host=endpoint,
        namespace=namespace,
        kube_context=kube_context,
        token_file=str(token_file) if token_file else None,
    )
    with tempfile.TemporaryDirectory() as folder:
        settings = image_settings(image_registry, image_tag, image_digests)
        prepared = prepare(pipeline, params, settings, Path(folder))
        package = prepared.package_path
        if no_cache:
            from kfp_mlops.compile.caching import write_without_caching

            package = write_without_caching(package, Path(folder) / "no-cache.yaml")
        try:
            client = kfp_endpoint.connect(target)
            version = kfp_endpoint.upload(
                client,
                target,
                package,
                pipeline_name or prepared.name,
                version_name,
                description,
            )
        except kfp_endpoint.EndpointError as error:
            fail(error)
    click.echo(
        f"{version.action}: {version.pipeline_name} ({version.pipeline_id}), version "
        f"{version.version_name} ({version.version_id})",
        err=True,
    )
    return Uploaded(client, target, prepared.name, prepared.arguments, version)

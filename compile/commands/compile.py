"""``kfp-mlops compile``."""

from pathlib import Path

import click

from kfp_mlops.components import images


def _image_settings(registry: str, tag: str) -> images.ImageSettings:
    try:
        return images.ImageSettings(registry=registry, tag=tag)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


@click.command("compile")
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

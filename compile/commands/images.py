"""``kfp-mlops images``."""

import json

import click

from kfp_mlops.compile.commands.options import image_options, image_settings


@click.command("images")
@image_options
@click.option("--json", "as_json", is_flag=True, help="Print {component: [image, ...]} as JSON.")
def images_command(
    image_registry: str, image_tag: str, image_digests: tuple[str, ...], as_json: bool
) -> None:
    """Prints the image each component runs in, as the compiled YAML names it.

    Takes the same image options as `kfp-mlops compile`; each component is compiled with them and
    the images are read back from its YAML.
    """
    from kfp_mlops.compile import catalog
    from kfp_mlops.compile.compiler import compile_to_text
    from kfp_mlops.compile.image_refs import referenced_images

    settings = image_settings(image_registry, image_tag, image_digests)
    named = {
        name: referenced_images(compile_to_text(component, settings))
        for name, component in catalog.components().items()
    }
    if as_json:
        click.echo(json.dumps(named, indent=2))
        return
    width = max(len(name) for name in named)
    for name, references in named.items():
        click.echo(f"{name:<{width}}  {', '.join(references)}")

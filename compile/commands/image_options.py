"""The image options that ``kfp-mlops compile`` and ``kfp-mlops images`` share."""

from collections.abc import Callable
from typing import TypeVar

import click

from kfp_mlops.components import images

Command = TypeVar("Command", bound=Callable[..., object])


def image_options(command: Command) -> Command:
    """Adds ``--image-registry``, ``--image-tag`` and ``--image-digest`` to a click command.

    The command receives ``image_registry``, ``image_tag`` and ``image_digests`` (a tuple of
    ``REPOSITORY=sha256:...``); :func:`image_settings` turns them into ImageSettings.
    """
    options = [
        click.option(
            "--image-registry",
            default=images.DEFAULT_REGISTRY,
            show_default=True,
            help="Registry and namespace of the component images.",
        ),
        click.option(
            "--image-tag",
            default=images.PACKAGE_VERSION,
            show_default=True,
            help="Tag of the component images (never 'latest').",
        ),
        click.option(
            "--image-digest",
            "image_digests",
            multiple=True,
            metavar="REPOSITORY=sha256:DIGEST",
            help="Name this repository's image by digest (repeat for each of "
            f"{', '.join(images.REPOSITORIES)}; given for one, needed for all). Released YAML "
            "names every image by digest.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def parse_digests(values: tuple[str, ...]) -> dict[str, str]:
    """``("kfp-mlops=sha256:...", ...)`` to ``{"kfp-mlops": "sha256:..."}``.

    Raises:
        click.BadParameter: A value is not REPOSITORY=DIGEST, a repository is given twice, or
            some repositories have a digest and others not (a release pins every image).
    """
    digests: dict[str, str] = {}
    for value in values:
        repository, equals, digest = value.partition("=")
        if not equals or not repository or not digest:
            raise click.BadParameter(
                f"{value!r} is not REPOSITORY=sha256:DIGEST, e.g. "
                f"{images.CPU_REPOSITORY}=sha256:{'0' * 64}",
                param_hint="--image-digest",
            )
        if repository in digests:
            raise click.BadParameter(
                f"repository {repository!r} is given twice", param_hint="--image-digest"
            )
        digests[repository] = digest
    missing = [repository for repository in images.REPOSITORIES if repository not in digests]
    if digests and missing:
        raise click.BadParameter(
            f"no digest for {', '.join(missing)}: pin every image or none "
            f"(add --image-digest {missing[0]}=sha256:...)",
            param_hint="--image-digest",
        )
    return digests


def image_settings(registry: str, tag: str, digests: tuple[str, ...] = ()) -> images.ImageSettings:
    """The ImageSettings of the options; a bad value is a click usage error naming the option."""
    parsed = parse_digests(digests)
    try:
        return images.ImageSettings(registry=registry, tag=tag, digests=parsed)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error

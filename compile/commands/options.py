"""The option groups commands share, each defined once: images, the cluster, the KFP endpoint.

- :func:`image_options` (``--image-registry``, ``--image-tag``, ``--image-digest``): ``compile``,
  ``images``, ``submit``, ``schedule``.
- :func:`kube_options` (``--kubeconfig``, ``--kube-context``): commands that talk to a cluster's
  Kubernetes API (``rollback``).
- :func:`endpoint_options` (``--endpoint``, ``--namespace``, ``--kube-context``, ``--token-file``):
  commands that talk to a Kubeflow Pipelines endpoint (``submit``, ``schedule``).
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

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


def kube_context_option(help_text: str) -> Callable[[Command], Command]:
    """``--kube-context CONTEXT``: one spelling for every command that reaches a cluster."""
    return click.option("--kube-context", metavar="CONTEXT", default=None, help=help_text)


def kube_options(command: Command) -> Command:
    """Adds ``--kubeconfig`` and ``--kube-context``.

    The command receives ``kubeconfig`` and ``kube_context`` (None: in-cluster config, else
    ``$KUBECONFIG`` or ``~/.kube/config``).
    """
    options = [
        click.option(
            "--kubeconfig",
            type=click.Path(dir_okay=False),
            default=None,
            help="Kubeconfig file (default: in-cluster, $KUBECONFIG or ~/.kube/config).",
        ),
        kube_context_option("Kubeconfig context (default: the current one)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def endpoint_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Adds --endpoint, --namespace, --kube-context and --token-file."""
    options = [
        click.option(
            "--endpoint",
            envvar="KF_PIPELINES_ENDPOINT",
            metavar="URL",
            help="Kubeflow Pipelines API address [env KF_PIPELINES_ENDPOINT]; without it, the "
            "in-cluster service or the kube config context's cluster.",
        ),
        click.option(
            "--namespace",
            metavar="NAMESPACE",
            help="Kubeflow profile namespace (multi-user deployments).",
        ),
        kube_context_option(
            "kube config context to reach the cluster through, when no --endpoint."
        ),
        click.option(
            "--token-file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="File holding a bearer token, read before each request [env "
            "KF_PIPELINES_SA_TOKEN_PATH]. A token itself is read from KF_PIPELINES_TOKEN, "
            "never from an argument.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command

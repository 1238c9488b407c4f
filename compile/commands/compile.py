"""``kfp-mlops compile``."""

from pathlib import Path
from typing import TYPE_CHECKING

import click

from kfp_mlops.compile.commands.options import image_options, image_settings

if TYPE_CHECKING:
    from kfp_mlops.pipelines import placement


def _build_options(
    gpu_profile: str | None, gpu_parameters: bool, target: str, nodes: int = 1
) -> "placement.BuildOptions":
    from kfp_mlops.pipelines import hardware, placement

    try:
        profile = None if gpu_profile is None else hardware.load_profile(gpu_profile)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--gpu") from error
    try:
        return placement.BuildOptions(
            gpu=profile, gpu_parameters=gpu_parameters, target=target, nodes=nodes
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error


@click.command("compile")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dist"),
    show_default=True,
    help="Folder that receives pipelines/NAME.yaml and components/NAME.yaml.",
)
@image_options
@click.option(
    "--gpu",
    "gpu_profile",
    metavar="PROFILE",
    default=None,
    help="Run the GPU-capable training steps on this hardware profile: nvidia-gpu, nvidia-t4, "
    "nvidia-l4, nvidia-a100, nvidia-a100x4, or a JSON/YAML file of HardwareProfile fields. "
    "tabular-classification and tabular-regression then train the PyTorch MLP.",
)
@click.option(
    "--gpu-parameters",
    is_flag=True,
    help="Make the GPU placement run-time pipeline parameters (gpu_accelerator_type, "
    "gpu_accelerator_count, gpu_node_selector, gpu_tolerations), defaulting to --gpu's values.",
)
@click.option(
    "--target",
    type=click.Choice(["kubeflow", "vertex"]),
    default="kubeflow",
    show_default=True,
    help="kubeflow: Kubeflow Pipelines on Kubernetes (GPU placement through kfp-kubernetes). "
    "vertex: Vertex AI Pipelines (GPU training as a Vertex CustomJob; one YAML document, no "
    "Kubernetes settings).",
)
@click.option(
    "--nodes",
    type=int,
    default=1,
    show_default=True,
    help="Train the GPU-capable PyTorch steps on this many nodes of the --gpu profile: with a "
    "Kubeflow Trainer TrainJob on Kubeflow Pipelines (train_pytorch_distributed; the pipelines "
    "gain shared_storage and shared_volume_claim parameters), as a Vertex CustomJob of this many "
    "replicas with --target vertex.",
)
def compile_command(
    out_dir: Path,
    image_registry: str,
    image_tag: str,
    image_digests: tuple[str, ...],
    gpu_profile: str | None,
    gpu_parameters: bool,
    target: str,
    nodes: int,
) -> None:
    """Compiles every pipeline and component to YAML."""
    from kfp_mlops.compile.compiler import compile_all

    settings = image_settings(image_registry, image_tag, image_digests)
    options = _build_options(gpu_profile, gpu_parameters, target, nodes)
    for path in compile_all(out_dir, settings, options):
        click.echo(str(path))

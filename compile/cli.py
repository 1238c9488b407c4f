"""``kfp-mlops``: the command group; each command lives in ``compile/commands/``."""

import click

from kfp_mlops.compile.commands.compile import compile_command
from kfp_mlops.compile.commands.images import images_command
from kfp_mlops.compile.commands.listing import list_command
from kfp_mlops.compile.commands.rollback import rollback_command
from kfp_mlops.compile.commands.run import run_command
from kfp_mlops.compile.commands.sample_data import sample_data_command
from kfp_mlops.compile.commands.schedule import schedule_command
from kfp_mlops.compile.commands.serve import serve_command
from kfp_mlops.compile.commands.submit import submit_command
from kfp_mlops.components import images


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(images.PACKAGE_VERSION, prog_name="kfp-mlops")
def main() -> None:
    """Kubeflow Pipelines components and pipelines for the whole MLOps loop."""


# One line per command (each lives in compile/commands/).
main.add_command(compile_command)
main.add_command(images_command)
main.add_command(list_command)
main.add_command(rollback_command)
main.add_command(run_command)
main.add_command(sample_data_command)
main.add_command(schedule_command)
main.add_command(serve_command)
main.add_command(submit_command)

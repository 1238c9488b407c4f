"""``kfp-mlops list``."""

import click


@click.command("list")
def list_command() -> None:
    """Lists the pipelines and components with their one-line descriptions."""
    from kfp_mlops.compile import catalog

    for title, items in (("Pipelines", catalog.pipelines()), ("Components", catalog.components())):
        click.echo(title)
        width = max(len(name) for name in items)
        for name, component in items.items():
            click.echo(f"  {name:<{width}}  {catalog.description(component)}")
        click.echo()

"""``kfp-mlops sample-data``."""

from pathlib import Path

import click

SAMPLE_DATASETS = {
    "breast-cancer": "load_breast_cancer",
    "iris": "load_iris",
    "wine": "load_wine",
    "digits": "load_digits",
    "diabetes": "load_diabetes",
}
"""Dataset name to the scikit-learn loader that returns it."""


@click.command("sample-data")
@click.argument("name", type=click.Choice(list(SAMPLE_DATASETS)))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def sample_data_command(name: str, out: Path) -> None:
    """Writes one of scikit-learn's bundled datasets to OUT as CSV, its label in column 'target'.

    diabetes is a regression dataset (a continuous disease-progression score, for
    tabular-regression); the others are classification datasets.
    """
    import sklearn.datasets

    from kfp_mlops.components.common.atomic import atomic_file

    frame = getattr(sklearn.datasets, SAMPLE_DATASETS[name])(as_frame=True).frame
    with atomic_file(out) as temporary:
        frame.to_csv(temporary, index=False)
    kind = "numeric target" if name == "diabetes" else "label"
    click.echo(f"{out}: {len(frame)} rows, {frame.shape[1] - 1} features, {kind} column 'target'")

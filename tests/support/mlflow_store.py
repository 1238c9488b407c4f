"""Fresh MLflow SQLite stores and registered versions made directly, for tests of the registry's
aliases (champion/challenger gate, promotion, rollback) that need no logged model.

Creating the tables of a SQLite store takes seconds, so :func:`empty_store` makes one template per
session and :func:`fresh_store` copies it.
"""

import shutil
from pathlib import Path

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


def empty_store(folder: Path) -> Path:
    """An MLflow SQLite database in ``folder`` with its tables made."""
    database = folder / "mlflow.db"
    MlflowClient(f"sqlite:///{database}").search_registered_models(max_results=1)
    return database


def fresh_store(template: Path, folder: Path) -> str:
    """A copy of ``template`` in ``folder``; its tracking URI."""
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "mlflow.db"
    shutil.copyfile(template, database)
    return f"sqlite:///{database}"


def register_version(
    tracking_uri: str,
    name: str,
    metrics: dict[str, float],
    tags: dict[str, str] | None = None,
    alias: str | None = None,
) -> str:
    """A new version of registered model ``name`` whose run logged ``metrics``; its number."""
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("tests")
    experiment_id = experiment.experiment_id if experiment else client.create_experiment("tests")
    run = client.create_run(experiment_id)
    for metric, value in metrics.items():
        client.log_metric(run.info.run_id, metric, value)
    client.set_terminated(run.info.run_id)
    try:
        client.create_registered_model(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    version = client.create_model_version(
        name, source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id, tags=tags
    ).version
    if alias:
        client.set_registered_model_alias(name, alias, version)
    return str(version)


def aliases(tracking_uri: str, name: str) -> dict[str, str]:
    """Alias to version number of registered model ``name``."""
    registered = MlflowClient(tracking_uri).get_registered_model(name)
    return {alias: str(version) for alias, version in registered.aliases.items()}

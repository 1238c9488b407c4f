"""Tuning fixtures: a throwaway PostgreSQL server, and studies on breast cancer."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.postgres import Postgres, running_postgres

from kfp_mlops.components.tuning import study

SMALL_FOREST = {
    "n_estimators": {"type": "int", "low": 20, "high": 80},
    "max_depth": {"type": "int", "low": 1, "high": 12},
    "max_features": {"type": "categorical", "choices": ["sqrt", 0.5]},
}
"""A quick random-forest space: 1-level trees are bad, so the pruner has something to stop."""


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL server on 127.0.0.1 for the whole session, stopped at the end."""
    with running_postgres() as server:
        yield server


def make_study(
    folder: Path,
    n_trials: int = 8,
    n_workers: int = 1,
    space: dict | None = None,
    name: str = "test-study",
    **settings: object,
) -> Path:
    """Creates a study (SQLite in ``folder`` unless OPTUNA_STORAGE_URL is set); returns folder."""
    options = {
        "estimator": "random_forest",
        "hyperparameters": None,
        "metric": "roc_auc",
        "sampler": "tpe",
        "pruner": "median",
        "seed": 7,
        **settings,
    }
    config = study.build_config(
        options["estimator"],
        SMALL_FOREST if space is None else space,
        options["hyperparameters"],
        options["metric"],
        options["sampler"],
        options["pruner"],
        options["seed"],
        n_trials,
        n_workers,
    )
    study.create(folder, str(folder), name, config)
    return folder

"""Evaluation fixtures: models trained by our own training step on the breast-cancer splits."""

import json
from pathlib import Path

import pytest

from kfp_mlops.components.training.train import train_to_directory


@pytest.fixture(scope="session")
def forest_model(tmp_path_factory: pytest.TempPathFactory, breast_cancer_splits) -> Path:
    """A random forest with default hyperparameters, as train_sklearn saves it."""
    model_dir = tmp_path_factory.mktemp("forest") / "model"
    train_to_directory(
        breast_cancer_splits["train"],
        str(model_dir),
        "target",
        "random_forest",
        validation_path=breast_cancer_splits["validation"],
    )
    return model_dir


@pytest.fixture(scope="session")
def stump_model(tmp_path_factory: pytest.TempPathFactory, breast_cancer_splits) -> Path:
    """A depth-1 decision tree: the deliberately weak challenger."""
    model_dir = tmp_path_factory.mktemp("stump") / "model"
    train_to_directory(
        breast_cancer_splits["train"], str(model_dir), "target", "decision_tree", {"max_depth": 1}
    )
    return model_dir


def tasks_run(root: Path) -> dict[str, dict]:
    """Task name to the executor output kfp.local wrote, for every task of the one run."""
    return {
        path.parent.name: json.loads(path.read_text(encoding="utf-8"))
        for path in root.glob("*/*/executor_output.json")
    }

"""Fixtures of the deployment tests: a Model directory trained on the breast-cancer train split."""

from pathlib import Path

import pytest
from deployment.model_dirs import fit_pipeline, write_model_dir

from kfp_mlops.components.data.tables import read_parquet


@pytest.fixture(scope="session")
def breast_cancer_model(tmp_path_factory, breast_cancer_splits) -> tuple[Path, dict]:
    """A Model directory fitted on the breast-cancer train split, and its metadata."""
    train = read_parquet(breast_cancer_splits["train"]).to_pandas()
    folder = tmp_path_factory.mktemp("model") / "model"
    return folder, write_model_dir(folder, fit_pipeline(train), train)

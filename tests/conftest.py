"""Fixtures shared by every stage's tests: real data written the way users give it to us."""

import os
import socket
import sys
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

GOLDEN_UPDATE_VARIABLE = "KFP_MLOPS_UPDATE_GOLDEN"


def pytest_configure(config: pytest.Config) -> None:
    """Refuses to run while the golden-update variable is set: a run never writes golden files
    (``python -m tests.update_goldens`` does), and one that did would compare them with
    themselves."""
    if GOLDEN_UPDATE_VARIABLE in os.environ:
        raise pytest.UsageError(
            f"{GOLDEN_UPDATE_VARIABLE} is set: golden files are updated only by "
            "`.venv/bin/python -m tests.update_goldens`, never by a test run; unset it"
        )


@pytest.fixture(scope="session")
def breast_cancer_frame() -> pd.DataFrame:
    """scikit-learn's breast-cancer data (569 rows, 30 features) with its label in ``target``."""
    return load_breast_cancer(as_frame=True).frame


@pytest.fixture(scope="session")
def breast_cancer_csv(tmp_path_factory: pytest.TempPathFactory, breast_cancer_frame) -> Path:
    """The breast-cancer data as a CSV file."""
    path = tmp_path_factory.mktemp("data") / "breast_cancer.csv"
    breast_cancer_frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def breast_cancer_splits(tmp_path_factory: pytest.TempPathFactory, breast_cancer_csv) -> dict:
    """Train, validation and test Parquet files of breast cancer, as our data steps make them."""
    from kfp_mlops.components.data.ingest import ingest_to_parquet
    from kfp_mlops.components.data.split import split_to_parquet

    folder = tmp_path_factory.mktemp("splits")
    ingest_to_parquet(str(breast_cancer_csv), str(folder / "dataset.parquet"))
    paths = {name: str(folder / f"{name}.parquet") for name in ("train", "validation", "test")}
    split_to_parquet(str(folder / "dataset.parquet"), paths, "target")
    return paths


@pytest.fixture
def local_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """kfp.local with the SubprocessRunner in this environment; returns the pipeline root.

    The runner starts ``python3`` from PATH, so this environment's interpreter goes first on it.
    """
    from kfp import local

    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    root = tmp_path / "pipeline_root"
    local.init(
        runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root), raise_on_error=True
    )
    return root


@pytest.fixture
def unused_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def diabetes_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scikit-learn's diabetes data (442 rows, 10 features, a numeric ``target``) as CSV, as
    ``kfp-mlops sample-data diabetes`` writes it."""
    from sklearn.datasets import load_diabetes

    path = tmp_path_factory.mktemp("data") / "diabetes.csv"
    load_diabetes(as_frame=True).frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def diabetes_splits(tmp_path_factory: pytest.TempPathFactory, diabetes_csv) -> dict:
    """Train, validation and test Parquet files of diabetes, split on 10 target quantile bins."""
    from kfp_mlops.components.data.ingest import ingest_to_parquet
    from kfp_mlops.components.data.split import split_to_parquet

    folder = tmp_path_factory.mktemp("regression-splits")
    ingest_to_parquet(str(diabetes_csv), str(folder / "dataset.parquet"))
    paths = {name: str(folder / f"{name}.parquet") for name in ("train", "validation", "test")}
    split_to_parquet(str(folder / "dataset.parquet"), paths, "target", target_bins=10)
    return paths

"""Fixtures of the monitoring tests: breast cancer split into a reference and a held-out part."""

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sklearn.model_selection import train_test_split
from support.monitoring_data import SHIFTED, table


@pytest.fixture(scope="session")
def reference_and_held_out(breast_cancer_frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A stratified 70/30 split of breast cancer: the training reference and held-out rows."""
    reference, held_out = train_test_split(
        breast_cancer_frame, test_size=0.3, stratify=breast_cancer_frame["target"], random_state=0
    )
    return reference.reset_index(drop=True), held_out.reset_index(drop=True)


@pytest.fixture(scope="session")
def shifted_held_out(reference_and_held_out) -> pd.DataFrame:
    """The held-out rows with the SHIFTED features moved up by one reference standard deviation."""
    reference, held_out = reference_and_held_out
    shifted = held_out.copy()
    for column in SHIFTED:
        shifted[column] = shifted[column] + reference[column].std()
    return shifted


@pytest.fixture(scope="session")
def monitoring_files(
    tmp_path_factory: pytest.TempPathFactory, reference_and_held_out, shifted_held_out
) -> dict[str, Path]:
    """reference, held_out and shifted as Parquet files (as the ingest step writes them)."""
    from kfp_mlops.components.common.tables import write_parquet

    folder = tmp_path_factory.mktemp("monitoring")
    frames = {
        "reference": reference_and_held_out[0],
        "held_out": reference_and_held_out[1],
        "shifted": shifted_held_out,
    }
    paths = {}
    for name, frame in frames.items():
        paths[name] = folder / f"{name}.parquet"
        write_parquet(table(frame), paths[name])
    return paths


@pytest.fixture(scope="session")
def champion(tmp_path_factory: pytest.TempPathFactory, breast_cancer_splits) -> tuple[str, dict]:
    """An MLflow store whose model "clf" has a version with alias "champion", trained and
    registered by this library's own steps; returns its tracking URI and recorded metrics."""
    from kfp_mlops.components.common.tables import dataset_metadata, read_parquet
    from kfp_mlops.components.evaluation.evaluate import evaluate_model
    from kfp_mlops.components.registry.register import DatasetPart, register_training
    from kfp_mlops.components.training.train import train_to_directory

    folder = tmp_path_factory.mktemp("champion")
    model_dir = folder / "model"
    metadata = train_to_directory(
        breast_cancer_splits["train"],
        str(model_dir),
        "target",
        estimator="logistic_regression",
        hyperparameters={"max_iter": 2000},
    )
    metrics = evaluate_model(str(model_dir), breast_cancer_splits["test"], "target")
    parts = {
        name: DatasetPart(path=path, uri=path, metadata=dataset_metadata(read_parquet(path)))
        for name, path in breast_cancer_splits.items()
    }
    tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    register_training(
        model_dir=str(model_dir),
        model_metadata=metadata,
        metrics_metadata=metrics.metrics_content(),
        datasets=parts,
        tracking_uri=tracking_uri,
        registered_model_name="clf",
        alias="champion",
    )
    return tracking_uri, metrics.result.scalars


@pytest.fixture(scope="session")
def mislabelled(tmp_path_factory: pytest.TempPathFactory, breast_cancer_splits) -> str:
    """The test split with the label of every third row flipped (new labels the model misses)."""
    from kfp_mlops.components.common.tables import read_parquet, write_parquet

    test = read_parquet(breast_cancer_splits["test"])
    flip = pa.array([index % 3 == 0 for index in range(test.num_rows)])
    target = test.column("target")
    flipped = pc.if_else(flip, pc.subtract(1, target), target).cast(target.type)
    path = tmp_path_factory.mktemp("mislabelled") / "test.parquet"
    write_parquet(test.set_column(test.column_names.index("target"), "target", flipped), path)
    return str(path)

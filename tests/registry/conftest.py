"""Fixtures of the registry tests: a Model artifact made the way the training step makes it, real
metrics, the split datasets, and a fresh MLflow SQLite store per test."""

import shutil
from pathlib import Path

import joblib
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

TARGET = "target"
SEED = 7


def write_model_artifact(model_dir: Path, train_path: str, hyperparameters: dict) -> dict:
    """Fits the model contract's sklearn Pipeline on the train split and writes it to ``model_dir``
    as its one ``model.joblib``; returns the Model artifact's metadata."""
    from kfp_mlops.components.common.tables import dataset_metadata, read_parquet

    train = read_parquet(train_path)
    frame = train.to_pandas()
    features = [column for column in frame.columns if column != TARGET]
    # Columns by position, so that a DataFrame or a numpy array in feature order both work.
    numeric = Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())])
    preprocess = ColumnTransformer([("numeric", numeric, list(range(len(features))))])
    classifier = LogisticRegression(random_state=SEED, **hyperparameters)
    model = Pipeline([("preprocess", preprocess), ("classifier", classifier)])
    model.fit(frame[features], frame[TARGET])
    model_dir.mkdir(parents=True)
    joblib.dump(model, model_dir / "model.joblib")
    return {
        "framework": "sklearn",
        "estimator": "logistic_regression",
        "hyperparameters": {**hyperparameters, "random_state": SEED},
        "seed": SEED,
        "feature_columns": features,
        "target_column": TARGET,
        "classes": sorted(int(value) for value in frame[TARGET].unique()),
        "train_fingerprint": dataset_metadata(train)["fingerprint"],
    }


def evaluate(model_dir: Path, test_path: str, feature_columns: list[str]) -> dict:
    """The model's real metrics on the test split, as a Metrics artifact's metadata holds them."""
    model = joblib.load(model_dir / "model.joblib")
    test = pd.read_parquet(test_path)
    predicted = model.predict(test[feature_columns])
    scores = model.predict_proba(test[feature_columns])[:, 1]
    return {
        "accuracy": float(accuracy_score(test[TARGET], predicted)),
        "f1": float(f1_score(test[TARGET], predicted)),
        "roc_auc": float(roc_auc_score(test[TARGET], scores)),
        "split": "test",
    }


@pytest.fixture(scope="session")
def split_metadata(breast_cancer_splits) -> dict:
    """Each split's Dataset artifact metadata (rows, schema, fingerprint), as the data step's."""
    from kfp_mlops.components.common.tables import dataset_metadata, read_parquet

    return {
        name: dataset_metadata(read_parquet(path)) for name, path in breast_cancer_splits.items()
    }


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory, breast_cancer_splits) -> tuple:
    """A Model artifact directory and its metadata, with the Metrics artifact's metadata."""
    model_dir = tmp_path_factory.mktemp("training") / "model"
    metadata = write_model_artifact(
        model_dir, breast_cancer_splits["train"], {"C": 0.5, "max_iter": 500}
    )
    metrics = evaluate(model_dir, breast_cancer_splits["test"], metadata["feature_columns"])
    return model_dir, metadata, metrics


@pytest.fixture(scope="session")
def dataset_parts(breast_cancer_splits, split_metadata) -> dict:
    """The three splits as the registration logic receives them."""
    from kfp_mlops.components.registry.register import DatasetPart

    return {
        name: DatasetPart(path=path, uri=path, metadata=split_metadata[name])
        for name, path in breast_cancer_splits.items()
    }


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite database with its tables made (creating them takes seconds: done once)."""
    from mlflow import MlflowClient

    database = tmp_path_factory.mktemp("store-template") / "mlflow.db"
    MlflowClient(f"sqlite:///{database}").search_experiments()
    return database


@pytest.fixture
def tracking_uri(tmp_path: Path, empty_store: Path) -> str:
    """A fresh, empty MLflow SQLite store in this test's folder."""
    database = tmp_path / "mlruns" / "mlflow.db"
    database.parent.mkdir()
    shutil.copyfile(empty_store, database)
    return f"sqlite:///{database}"

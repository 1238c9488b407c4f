"""Model directories for the deployment tests, written as the training stage's contract says.

A Model artifact is a directory holding one ``model.joblib``: an sklearn Pipeline fitted on the
train split only, whose ColumnTransformer selects columns by integer position (so it takes a
DataFrame or a numpy array with the columns in ``feature_columns`` order), plus the metadata keys
training sets. Imported as ``deployment.model_dirs`` (pytest puts tests/ on the path).
"""

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from kfp_mlops.components.common.tables import dataset_metadata

TARGET = "target"


def fit_pipeline(train: pd.DataFrame, categorical: list[str] | None = None) -> Pipeline:
    """A scaled logistic regression over every column of ``train`` but the target.

    Numeric columns are imputed and scaled, ``categorical`` ones imputed and one-hot encoded; the
    ColumnTransformer picks both by position.
    """
    features = [name for name in train.columns if name != TARGET]
    categorical = categorical or []
    numeric = [name for name in features if name not in categorical]
    transformers = [
        (
            "numeric",
            Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]),
            [features.index(name) for name in numeric],
        )
    ]
    if categorical:
        transformers.append(
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("encode", OneHotEncoder(handle_unknown="ignore")),
                    ]
                ),
                [features.index(name) for name in categorical],
            )
        )
    pipeline = Pipeline(
        [
            ("preprocess", ColumnTransformer(transformers)),
            ("classifier", LogisticRegression(C=1.0, max_iter=2000)),
        ]
    )
    return pipeline.fit(train[features], train[TARGET])


def write_model_dir(folder: Path, pipeline: Pipeline, train: pd.DataFrame) -> dict[str, object]:
    """Writes ``folder/model.joblib``; returns the Model metadata training would record."""
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, folder / "model.joblib")
    return {
        "framework": "sklearn",
        "estimator": "LogisticRegression",
        "hyperparameters": {"C": 1.0, "max_iter": 2000},
        "feature_columns": [name for name in train.columns if name != TARGET],
        "target_column": TARGET,
        "classes": pipeline.classes_.tolist(),
        "train_fingerprint": dataset_metadata(pa.Table.from_pandas(train))["fingerprint"],
    }


def with_size_band(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a text column ``size_band`` (small/large/None) before the target."""
    band = np.where(frame["mean radius"] > 14.0, "large", "small").astype(object)
    band[::17] = None
    result = frame.drop(columns=[TARGET])
    result["size_band"] = band
    result[TARGET] = frame[TARGET]
    return result

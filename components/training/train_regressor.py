"""Fit a preprocessing + regressor pipeline on the train split and save it as a Model artifact.

The same rules as :mod:`.train` for classifiers: the preprocessing (imputation, scaling, one-hot
encoding) is fitted on the train split only and saved with the regressor as one sklearn Pipeline
in ``model.joblib``, the directory's only model file, which KServe's stock sklearn runtime serves
(its ``predict`` answers numbers). The Model's metadata says ``task: regression``.

The same model is exported to ONNX with skl2onnx as a Triton model repository in
``model_dir/onnx`` (:mod:`.onnx_export`; one output, ``predictions``, FP32 ``[rows, 1]``). A
regressor skl2onnx cannot convert still trains: the ``onnx`` metadata records ``exported: False``
and the one-line reason naming the estimator, and the ONNX paths (serve-check comparison, Triton
deployment) refuse it with that reason.
"""

import joblib
import sklearn
from sklearn.pipeline import Pipeline

from kfp_mlops.components.common.atomic import atomic_directory
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.estimators import make_estimator, resolved_hyperparameters
from kfp_mlops.components.common.features import feature_frame, feature_layout, preprocessor
from kfp_mlops.components.common.model_io import MODEL_FILE
from kfp_mlops.components.common.regression_metrics import (
    regression_metrics,
    regression_target,
)
from kfp_mlops.components.common.tables import fingerprint, read_parquet
from kfp_mlops.components.training.onnx_export import export_onnx


def train_regressor_to_directory(
    train_path: str,
    model_dir: str,
    target_column: str,
    estimator: str = "ridge",
    hyperparameters: dict[str, object] | None = None,
    seed: int = 42,
    validation_path: str | None = None,
) -> dict[str, object]:
    """Fits the regressor on the train split and writes ``model_dir/model.joblib``.

    Returns the model's metadata.

    Args:
        train_path: Parquet file of the training rows.
        model_dir: The directory to create; it ends up holding exactly one ``model.joblib``.
        target_column: The numeric column to predict; every other usable column is a feature.
        estimator: A name from :data:`.estimators.REGRESSORS`.
        hyperparameters: The estimator's constructor arguments (see ``make_estimator``).
        seed: The estimator's ``random_state``.
        validation_path: Parquet file of validation rows; its RMSE and R² go into the metadata.

    Returns:
        The Model artifact metadata: framework, task (regression), estimator, hyperparameters,
        feature_columns, excluded_columns, target_column, train_fingerprint, train_rows,
        sklearn_version, onnx (the export's layout, or exported False and why), and
        validation_rmse, validation_r2 and validation_rows when a validation split is given.

    Raises:
        ComponentInputError: Bad estimator or hyperparameters, a missing target or feature column,
            or a target that is not numeric or not finite.
    """
    regressor = make_estimator(estimator, hyperparameters, seed, task="regression")
    table = read_parquet(train_path)
    layout = feature_layout(table, target_column)
    target = regression_target(table, target_column, "train split")
    if table.num_rows == 0:
        raise ComponentInputError(f"the train split {train_path} has no rows")
    model = Pipeline([("preprocess", preprocessor(layout)), ("regressor", regressor)])
    model.fit(feature_frame(table, layout.feature_columns, "train split"), target)
    metadata: dict[str, object] = {
        "framework": "sklearn",
        "task": "regression",
        "estimator": estimator,
        "hyperparameters": resolved_hyperparameters(model.named_steps["regressor"]),
        "feature_columns": layout.feature_columns,
        "excluded_columns": layout.excluded,
        "target_column": target_column,
        "train_fingerprint": fingerprint(table),
        "train_rows": table.num_rows,
        "sklearn_version": sklearn.__version__,
    }
    if validation_path is not None:
        validation = read_parquet(validation_path)
        if validation.num_rows == 0:
            raise ComponentInputError(f"the validation split {validation_path} has no rows")
        expected = regression_target(validation, target_column, "validation split")
        predicted = model.predict(
            feature_frame(validation, layout.feature_columns, "validation split")
        )
        scores = regression_metrics(expected, predicted).scalars
        metadata["validation_rmse"] = scores["rmse"]
        metadata["validation_r2"] = scores["r2"]
        metadata["validation_rows"] = validation.num_rows
    with atomic_directory(model_dir) as folder:
        joblib.dump(model, folder / MODEL_FILE)
        try:
            metadata["onnx"] = export_onnx(model, layout, folder).metadata()
        except ComponentInputError as error:
            # The joblib model is the contract (as for classifiers, see train.py).
            metadata["onnx"] = {"exported": False, "reason": str(error)}
    return metadata

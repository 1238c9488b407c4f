"""Fit a preprocessing + classifier pipeline on the train split and save it as a Model artifact."""

import joblib
import numpy as np
import sklearn
from sklearn.metrics import accuracy_score
from sklearn.pipeline import Pipeline

from kfp_mlops.components.common.atomic import atomic_directory
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.estimators import make_estimator, resolved_hyperparameters
from kfp_mlops.components.common.features import (
    feature_frame,
    feature_layout,
    preprocessor,
    target_values,
)
from kfp_mlops.components.common.model_io import MODEL_FILE
from kfp_mlops.components.common.tables import (
    fingerprint_file,
    parquet_schema,
    read_parquet,
)
from kfp_mlops.components.training.onnx_export import export_onnx


def train_to_directory(
    train_path: str,
    model_dir: str,
    target_column: str,
    estimator: str = "random_forest",
    hyperparameters: dict[str, object] | None = None,
    seed: int = 42,
    validation_path: str | None = None,
) -> dict[str, object]:
    """Fits the model on the train split, writes ``model_dir/model.joblib``, returns its metadata.

    The preprocessing (imputation, scaling, one-hot encoding) is fitted on the train split only;
    the validation split, when given, is only scored. The same model is also exported to ONNX as
    a Triton model repository in ``model_dir/onnx`` (see :mod:`.onnx_export`); ``model.joblib``
    stays the directory's only model file, as the KServe sklearn runtime requires.

    Args:
        train_path: Parquet file of the training rows.
        model_dir: The directory to create; it ends up holding exactly one ``model.joblib``.
        target_column: The label column; every other usable column is a feature.
        estimator: A name from :data:`sklearn_estimators.ESTIMATORS`.
        hyperparameters: The estimator's constructor arguments (see ``make_estimator``).
        seed: The estimator's ``random_state``.
        validation_path: Parquet file of validation rows; its accuracy goes into the metadata.

    Returns:
        The Model artifact metadata: framework, estimator, hyperparameters (every constructor
        argument as fitted), feature_columns, excluded_columns, target_column, classes,
        train_fingerprint, train_rows, sklearn_version, onnx (exported, and the export's
        repository, model name, path, inputs and outputs; or exported False and the reason, e.g.
        float class labels), and validation_accuracy and validation_rows when a validation split
        is given.

    Raises:
        ComponentInputError: Bad estimator or hyperparameters, a missing target or feature column,
            missing labels, or fewer than two classes in the train split.
    """
    classifier = make_estimator(estimator, hyperparameters, seed)
    # Only the feature and target columns are read; an excluded column (an id, a date) is not.
    layout = feature_layout(parquet_schema(train_path).empty_table(), target_column)
    table = read_parquet(train_path, [*layout.feature_columns, target_column])
    labels = target_values(table, target_column, "train split")
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ComponentInputError(
            f"target column {target_column!r} of the train split has {len(classes)} class(es) "
            f"({', '.join(repr(value) for value in classes.tolist())}); a classifier needs at "
            "least two"
        )
    model = Pipeline([("preprocess", preprocessor(layout)), ("classifier", classifier)])
    model.fit(feature_frame(table, layout.feature_columns, "train split"), labels)
    metadata: dict[str, object] = {
        "framework": "sklearn",
        "task": "classification",
        "estimator": estimator,
        "hyperparameters": resolved_hyperparameters(model.named_steps["classifier"]),
        "feature_columns": layout.feature_columns,
        "excluded_columns": layout.excluded,
        "target_column": target_column,
        "classes": model.classes_.tolist(),
        "train_fingerprint": fingerprint_file(train_path),
        "train_rows": table.num_rows,
        "sklearn_version": sklearn.__version__,
    }
    if validation_path is not None:
        present = parquet_schema(validation_path).names
        needed = [name for name in (*layout.feature_columns, target_column) if name in present]
        validation = read_parquet(validation_path, needed)
        if target_column not in validation.column_names:
            raise ComponentInputError(
                f"target column {target_column!r} not found in the validation split"
            )
        if validation.num_rows == 0:
            raise ComponentInputError(f"the validation split {validation_path} has no rows")
        predicted = model.predict(
            feature_frame(validation, layout.feature_columns, "validation split")
        )
        expected = target_values(validation, target_column, "validation split")
        metadata["validation_accuracy"] = float(accuracy_score(expected, predicted))
        metadata["validation_rows"] = validation.num_rows
    with atomic_directory(model_dir) as folder:
        joblib.dump(model, folder / MODEL_FILE)
        try:
            metadata["onnx"] = export_onnx(model, layout, folder).metadata()
        except ComponentInputError as error:
            # The joblib model is the contract; a model ONNX cannot carry still trains, and
            # deploying it in the ONNX format is refused with this reason.
            metadata["onnx"] = {"exported": False, "reason": str(error)}
    return metadata

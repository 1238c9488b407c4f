"""Training components: fit a scikit-learn classifier and its preprocessing on the train split."""

from typing import Dict, Optional

from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

from kfp_mlops.components.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def train_sklearn(
    train: Input[Dataset],
    target_column: str,
    model: Output[Model],
    estimator: str = "random_forest",
    hyperparameters: Optional[Dict] = None,
    seed: int = 42,
    validation: Optional[Input[Dataset]] = None,
) -> None:
    """Fits a scikit-learn classifier and its preprocessing on the train split; saves model.joblib.

    Imputation, scaling and one-hot encoding are fitted on the train split only and saved with the
    classifier as one sklearn Pipeline, which KServe's stock sklearn runtime serves.

    Args:
        train: The training rows (Parquet); every column but the target that is numeric, boolean or
            text is a feature.
        target_column: The label column.
        estimator: ``logistic_regression``, ``random_forest``, ``gradient_boosting``,
            ``hist_gradient_boosting``, ``decision_tree`` or ``k_nearest_neighbors``.
        hyperparameters: The estimator's constructor arguments, e.g. ``{"n_estimators": 200}``;
            an unknown name fails the step with the closest valid names. Unset ones keep the
            defaults.
        seed: The estimator's random_state (set it here, not in hyperparameters).
        validation: Validation rows (Parquet); when given, their accuracy is recorded on the model.

    Returns:
        model: A directory holding exactly one model.joblib: an sklearn Pipeline taking a DataFrame
            with the feature columns or a 2-D array in feature_columns order. Metadata: framework,
            estimator, hyperparameters, feature_columns, excluded_columns, target_column, classes,
            train_fingerprint, train_rows, sklearn_version, and validation_accuracy and
            validation_rows when validation is given.
    """
    from kfp_mlops.components.training.train import train_to_directory

    model.metadata.update(
        train_to_directory(
            train.path,
            model.path,
            target_column,
            estimator,
            hyperparameters,
            seed,
            None if validation is None else validation.path,
        )
    )

"""The hyperparameters given for training without tuning, checked before the training step.

This is what the ``given_hyperparameters`` step runs, in a process of its own: it imports
scikit-learn only to check hyperparameter values, not to check an estimator's name (see
BENCHMARKS.md, "Pipeline": importing scikit-learn costs more than the check itself).
"""

from collections.abc import Mapping

from kfp_mlops.components.common.estimators import ESTIMATORS, estimator_spec, make_estimator


def check_given(
    estimator: str, hyperparameters: Mapping[str, object] | None, task: str = "classification"
) -> dict[str, object]:
    """Checks hyperparameters given for training without tuning; returns them unchanged.

    scikit-learn estimators are checked as the training step will build them (a regressor by
    name when ``task`` is regression): the name first, then, when hyperparameters are given, the
    estimator built with them (our defaults alone always build). Other frameworks' estimators are
    checked by their own training step.

    Raises:
        ComponentInputError: A scikit-learn estimator refuses them, or the name is not a
            regressor's (regression).
    """
    given = dict(hyperparameters or {})
    if task == "regression" or estimator in ESTIMATORS:
        estimator_spec(estimator, task)  # an unknown name fails, naming the closest known ones
        if given:
            make_estimator(estimator, given, task=task)
    return given

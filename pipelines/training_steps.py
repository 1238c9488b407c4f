"""The tabular pipelines' training: tuned or given hyperparameters, then the training step.

tabular-classification and tabular-regression (and their on-dataset variants that
retrain-on-drift nests) train the same way: ``dsl.If(n_trials > 0)`` runs the tuning sub-pipeline,
``dsl.Else`` checks the given hyperparameters against the estimator, and the training step takes
whichever branch ran (``dsl.OneOf``). The task picks the components: the classifier's or the
regressor's hyperparameter check, and :func:`.placement.tabular_training`'s scikit-learn step (or
the PyTorch MLP on a GPU build).
"""

import inspect
from collections.abc import Callable, Mapping

from kfp import dsl

from kfp_mlops.components import tuning
from kfp_mlops.pipelines import placement, time_limits
from kfp_mlops.pipelines.tuning import tune_hyperparameters


def tuned_training(
    split: dsl.PipelineTask,
    *,
    target_column: str,
    estimator: str,
    hyperparameters: dict,
    seed: int,
    n_trials: int,
    search_space: dict,
    tuning_metric: str,
    tuning_workers: int,
    task: str,
) -> dsl.PipelineTask:
    """Adds tuning or the given hyperparameters' check, and training, after ``split``.

    Returns the training task (output ``model``), its time limit set.

    The keyword arguments are the pipelines' parameters of the same names; ``task`` is
    ``classification`` or ``regression``.
    """
    with dsl.If(n_trials > 0, name="tuning"):
        tune = tune_hyperparameters(
            train=split.outputs["train"],
            validation=split.outputs["validation"],
            target_column=target_column,
            estimator=estimator,
            search_space=search_space,
            hyperparameters=hyperparameters,
            metric=tuning_metric,
            n_trials=n_trials,
            n_workers=tuning_workers,
            seed=seed,
        )
    with dsl.Else(name="no-tuning"):
        check = (
            tuning.given_regressor_hyperparameters
            if task == "regression"
            else tuning.given_hyperparameters
        )
        given = check(estimator=estimator, hyperparameters=hyperparameters)
    train = placement.tabular_training(
        train=split.outputs["train"],
        validation=split.outputs["validation"],
        target_column=target_column,
        estimator=estimator,
        hyperparameters=dsl.OneOf(tune.outputs["best_hyperparameters"], given.output),
        seed=seed,
        task=task,
    )
    time_limits.limit(train, time_limits.TRAINING_SECONDS)
    return train


def arguments_for(function: Callable[..., object], values: Mapping[str, object]) -> dict:
    """The keyword-only parameters of ``function`` taken from ``values``.

    ``values`` is a pipeline's ``locals()``, so that a pipeline passes its parameters on by name
    without repeating them.

    Raises:
        KeyError: ``values`` lacks one of them (a pipeline without that parameter).
    """
    names = [
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    return {name: values[name] for name in names}

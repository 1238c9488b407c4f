"""The tuning sub-pipeline: one Optuna study, its trials fanned out over parallel workers.

Compose it inside a pipeline like a component; it takes the train and validation splits and returns
the best hyperparameters, ready for the training step::

    tune = tune_hyperparameters(
        train=split.outputs["train"], validation=split.outputs["validation"],
        target_column="target", n_trials=40, n_workers=4,
    )
    training.train_sklearn(..., hyperparameters=tune.outputs["best_hyperparameters"])

Storage: every tuning step gets ``OPTUNA_STORAGE_URL`` from the key ``url`` of the Kubernetes secret
``storage_secret`` (kfp-kubernetes; the secret is optional, so the YAML holds no credential and runs
anywhere). With it, the workers share a PostgreSQL study; without it (kfp.local), a SQLite file in
the study artifact. On a cluster without the secret, create-study fails and says so.

Workers are retried twice: a worker whose pod died continues its share where it stopped.
"""

from typing import Dict, NamedTuple

from kfp import dsl, kubernetes
from kfp.dsl import Dataset, Input

from kfp_mlops.components import tuning
from kfp_mlops.components.tuning.study import STORAGE_ENV
from kfp_mlops.pipelines import time_limits

DEFAULT_STORAGE_SECRET = "optuna-storage"
"""The Kubernetes secret whose key ``url`` names the study's database on a cluster."""

WORKER_RETRIES = 2
"""How many times a failed worker is started again; each attempt continues the worker's share."""


class TuningOutputs(NamedTuple):
    """What the tuning sub-pipeline returns."""

    best_hyperparameters: Dict
    best_score: float


def _with_storage_secret(task: dsl.PipelineTask, secret: str) -> dsl.PipelineTask:
    """Puts the secret's ``url`` into ``OPTUNA_STORAGE_URL`` when the secret exists; no caching.

    The study lives outside the artifacts, so a cached step would not reflect it.
    """
    kubernetes.use_secret_as_env(
        task, secret_name=secret, secret_key_to_env={"url": STORAGE_ENV}, optional=True
    )
    task.set_caching_options(False)
    return task


@dsl.pipeline(name="tune-hyperparameters")
def tune_hyperparameters(
    train: Input[Dataset],
    validation: Input[Dataset],
    target_column: str,
    estimator: str = "random_forest",
    search_space: dict = {},  # noqa: B006 (KFP reads defaults from the signature)
    hyperparameters: dict = {},  # noqa: B006
    metric: str = "roc_auc",
    n_trials: int = 20,
    n_workers: int = 2,
    sampler: str = "tpe",
    pruner: str = "median",
    seed: int = 42,
    timeout_seconds: float = 0.0,
    study_name: str = "",
    storage_secret: str = DEFAULT_STORAGE_SECRET,
) -> TuningOutputs:
    """Tunes an estimator's hyperparameters with Optuna: parallel workers share one study.

    Args:
        train: The rows every trial trains on (Parquet).
        validation: The rows every trial is scored on (Parquet).
        target_column: The label column.
        estimator: The estimator to tune (as train_sklearn names them).
        search_space: Hyperparameter name to its range or choices (see create_study); empty for
            the estimator's default space.
        hyperparameters: Fixed hyperparameters of every trial.
        metric: ``roc_auc``, ``accuracy``, ``f1`` or ``log_loss`` on the validation split.
        n_trials: Finished trials the study is to have, all workers together.
        n_workers: Workers running trials at once (one pod each on a cluster).
        sampler: ``tpe``, ``random`` or ``grid``.
        pruner: ``median`` or ``none``.
        seed: Seed of the samplers and of every trial's estimator. With one worker, a run is
            reproducible; with several, which trial sees which results depends on timing.
        timeout_seconds: A worker starts no new trial after this many seconds; 0 for no limit.
        study_name: Name of the study in the storage, to continue one; empty: one per run.
        storage_secret: Kubernetes secret with the storage URL under key ``url``.

    Returns:
        best_hyperparameters: The fixed hyperparameters with the best trial's values over them.
        best_score: The best trial's validation score.
    """
    create = _with_storage_secret(
        tuning.create_study(
            estimator=estimator,
            search_space=search_space,
            hyperparameters=hyperparameters,
            metric=metric,
            n_trials=n_trials,
            n_workers=n_workers,
            sampler=sampler,
            pruner=pruner,
            seed=seed,
            study_name=study_name,
            kfp_run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        ),
        storage_secret,
    )
    with dsl.ParallelFor(create.outputs["Output"], name="tuning-workers") as worker:
        trials = _with_storage_secret(
            tuning.run_trials(
                study=create.outputs["study"],
                train=train,
                validation=validation,
                target_column=target_column,
                worker=worker,
                timeout_seconds=timeout_seconds,
            ),
            storage_secret,
        )
        trials.set_retry(num_retries=WORKER_RETRIES)
        time_limits.limit(trials, time_limits.TRAINING_SECONDS)
    summary = _with_storage_secret(
        tuning.summarize_study(study=create.outputs["study"]).after(trials), storage_secret
    )
    return TuningOutputs(summary.outputs["best_hyperparameters"], summary.outputs["best_score"])

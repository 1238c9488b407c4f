"""Tuning components: one Optuna study, trials run by parallel workers, and a summary report."""

from typing import Dict, List, NamedTuple, Optional

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Metrics, Output

from kfp_mlops.components.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def create_study(
    study: Output[Artifact],
    estimator: str = "random_forest",
    search_space: Optional[Dict] = None,
    hyperparameters: Optional[Dict] = None,
    metric: str = "roc_auc",
    n_trials: int = 20,
    n_workers: int = 1,
    sampler: str = "tpe",
    pruner: str = "median",
    seed: int = 42,
    study_name: Optional[str] = None,
    kfp_run_id: Optional[str] = None,
) -> List[int]:
    """Creates (or continues) the Optuna study that tuning workers share, after checking its inputs.

    The storage is the database named by the OPTUNA_STORAGE_URL environment variable (PostgreSQL
    on a cluster, set from a Kubernetes secret) or else a SQLite file inside the study artifact,
    which works when every step shares one filesystem (kfp.local). A study that already exists
    under the same name with the same settings is continued; only n_trials may change.

    Args:
        estimator: The estimator to tune (``random_forest``, ``gradient_boosting``,
            ``hist_gradient_boosting``, ``logistic_regression``, ``decision_tree``,
            ``k_nearest_neighbors``).
        search_space: Hyperparameter name to ``{"type": "int"|"float", "low", "high", "log",
            "step"}`` or ``{"type": "categorical", "choices": [...]}``; unset or empty for the
            estimator's default space. A bad entry fails the step, naming the parameter.
        hyperparameters: Fixed hyperparameters every trial uses (not searched).
        metric: The validation metric to optimize: ``roc_auc``, ``accuracy``, ``f1`` (maximized)
            or ``log_loss`` (minimized).
        n_trials: How many finished trials the study is to have, all workers together.
        n_workers: How many workers share the trials.
        sampler: ``tpe`` (Tree-structured Parzen Estimator), ``random``, or ``grid`` (every
            parameter categorical or stepped).
        pruner: ``median`` (stop a trial whose step score is below the median of earlier trials at
            that step) or ``none``.
        seed: Seed of the samplers (worker i uses seed + i) and of every trial's estimator.
        study_name: The study's name in the storage; give the same name to continue a study.
            Unset or empty: derived from kfp_run_id.
        kfp_run_id: The pipeline run's ID, which names the study when study_name is unset.

    Returns:
        study: A directory holding study.json (name, storage without password, configuration) and,
            without external storage, the SQLite database study.db. Metadata: study_name, storage,
            metric, direction, n_trials, n_workers.
        Output: The worker indices ``0 .. n_workers - 1``, the items to fan the workers out over.
    """
    from kfp_mlops.components.tuning.study import create_from_inputs

    reference = create_from_inputs(
        study.path,
        study.uri,
        estimator,
        search_space,
        hyperparameters,
        metric,
        n_trials,
        n_workers,
        sampler,
        pruner,
        seed,
        study_name,
        kfp_run_id,
    )
    study.metadata.update(reference.metadata())
    return list(range(n_workers))


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def run_trials(
    study: Input[Artifact],
    train: Input[Dataset],
    validation: Input[Dataset],
    target_column: str,
    worker: int,
    result: Output[Metrics],
    timeout_seconds: Optional[float] = None,
) -> None:
    """Runs one worker's share of a study's trials: train on the train split, score on validation.

    Each trial trains step by step (trees, boosting iterations or epochs) and reports its
    validation score after each step, so the study's pruner stops bad trials early. The worker
    counts the trials it finished before (a retry or re-run continues), fails its own trials left
    RUNNING by a dead earlier attempt, and runs only the rest of its share.

    Args:
        study: The study artifact from create_study.
        train: The rows every trial trains on (Parquet).
        validation: The rows every trial is scored on (Parquet), with every class present.
        target_column: The label column.
        worker: This worker's index, 0 to n_workers - 1 (an item of create_study's output).
        timeout_seconds: Start no new trial after this many seconds; unset or 0 for no limit.

    Returns:
        result: What this worker did, as JSON and metadata: share, done_before, completed,
            pruned, failed, orphans_failed, seconds, trials_per_second, stopped_by (share,
            timeout or grid exhausted).
    """
    from kfp_mlops.components.tuning.worker import run_worker, write_result

    outcome = run_worker(
        study.path,
        study.uri,
        train.path,
        validation.path,
        target_column,
        worker,
        timeout_seconds,
    )
    result.metadata.update(write_result(outcome, result.path))


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def summarize_study(
    study: Input[Artifact],
    report: Output[HTML],
    trials: Output[Dataset],
) -> NamedTuple(
    "Outputs",
    [("best_hyperparameters", Dict), ("best_score", float), ("best_trial", int)],
):
    """Summarizes a study: best hyperparameters, the trials, and an HTML report for the KFP UI.

    Trials whose worker died are failed first (no heartbeat for the grace period). The report is
    self-contained (inline SVG, no script): the optimization history, each trial's validation
    score step by step (where pruning stopped it), parameter importances (fANOVA), and every trial.

    Args:
        study: The study artifact from create_study, after its workers ran.

    Returns:
        report: The HTML report. Metadata: the summary below, trial counts by state, importances.
        trials: One row per trial (Parquet): number, state, value, worker, last_step, seconds,
            error, and a param_<name> column per searched hyperparameter.
        best_hyperparameters: The fixed hyperparameters with the best trial's values over them,
            ready for train_sklearn's hyperparameters input.
        best_score: The best trial's validation score.
        best_trial: The best trial's number.
    """
    from collections import namedtuple

    from kfp_mlops.components.tuning.report import summarize

    summary = summarize(study.path, study.uri, report.path, trials.path)
    report.metadata.update(summary.metadata())
    trials.metadata.update({"rows": summary.trial_count, "study_name": summary.study_name})
    outputs = namedtuple("Outputs", ["best_hyperparameters", "best_score", "best_trial"])
    return outputs(summary.best_hyperparameters, summary.best_score, summary.best_trial)


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def given_hyperparameters(estimator: str, hyperparameters: Optional[Dict] = None) -> Dict:
    """Checks hyperparameters against the estimator and passes them on: the branch without tuning.

    Args:
        estimator: The estimator the hyperparameters are for; scikit-learn ones are checked as the
            training step builds them (an unknown name fails with the closest valid ones).
        hyperparameters: The hyperparameters as given; unset for none.

    Returns:
        Output: The same hyperparameters (an empty dict when unset).
    """
    from kfp_mlops.components.tuning.given import check_given

    return check_given(estimator, hyperparameters)


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def given_regressor_hyperparameters(estimator: str, hyperparameters: Optional[Dict] = None) -> Dict:
    """Checks hyperparameters against a regressor and passes them on: the branch without tuning.

    Args:
        estimator: The regressor the hyperparameters are for, checked as train_sklearn_regressor
            builds it (an unknown name fails with the closest valid ones).
        hyperparameters: The hyperparameters as given; unset for none.

    Returns:
        Output: The same hyperparameters (an empty dict when unset).
    """
    from kfp_mlops.components.tuning.given import check_given

    return check_given(estimator, hyperparameters, task="regression")

"""A tuning worker: runs its share of a shared study's trials, pruning bad ones early.

Each trial samples the search space, merges the sample over the fixed hyperparameters, and trains
step by step (see :mod:`trainers`), reporting the validation score after each step; the study's
pruner may stop it between two steps. A configuration the estimator refuses (a ValueError such as
an incompatible pair of values) fails its trial with the error recorded and the worker goes on; any
other error stops the worker, and its unfinished trial is run again by the next attempt.
"""

import dataclasses
import json
import time
from collections.abc import Callable

import optuna
from optuna.trial import TrialState

from kfp_mlops.components.common.atomic import write_text
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.tuning import scores, search_space, study, trainers

DATA_ATTR = "data_fingerprint"


@dataclasses.dataclass(frozen=True)
class WorkerResult:
    """What one worker did in one run."""

    worker: int
    share: int
    done_before: int
    completed: int
    pruned: int
    failed: int
    orphans_failed: list[int]
    seconds: float
    stopped_by: str

    def metadata(self) -> dict[str, object]:
        """The result as artifact metadata, with the trial rate."""
        ran = self.completed + self.pruned + self.failed
        return {
            **dataclasses.asdict(self),
            "trials_run": ran,
            "trials_per_second": round(ran / self.seconds, 4) if self.seconds > 0 else 0.0,
        }


def make_objective(
    config: study.StudyConfig, trainer: trainers.Trainer, worker: int
) -> Callable[[optuna.Trial], float]:
    """The function Optuna calls for each trial of ``worker``."""
    space = config.space()

    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr(study.WORKER_ATTR, worker)
        hyperparameters = {**config.hyperparameters, **search_space.suggest(trial, space)}
        try:
            for result in trainer.fit_steps(hyperparameters, config.seed):
                trial.report(result.score, result.step)
                if result.final:
                    return result.score
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at step {result.step}")
        except ValueError as error:
            trial.set_user_attr(study.ERROR_ATTR, " ".join(str(error).split())[:500])
            raise
        raise RuntimeError(f"the {config.estimator} trainer ended without a final step")

    return objective


def _check_data(shared: optuna.Study, fingerprint: str) -> None:
    recorded = shared.user_attrs.get(DATA_ATTR)
    if recorded is None:
        shared.set_user_attr(DATA_ATTR, fingerprint)
    elif recorded != fingerprint:
        raise ComponentInputError(
            f"study {shared.study_name!r} was tuned on other train/validation data "
            f"(fingerprint {recorded[:12]}..., these are {fingerprint[:12]}...): use a new study "
            "name for new data"
        )


def run_worker(
    study_dir: str,
    artifact_uri: str,
    train_path: str,
    validation_path: str,
    target_column: str,
    worker: int,
    timeout_seconds: float | None = None,
    heartbeat_interval: int = study.HEARTBEAT_INTERVAL,
    grace_period: int = study.GRACE_PERIOD,
) -> WorkerResult:
    """Runs the trials that ``worker`` still owes the study in ``study_dir``.

    Args:
        study_dir: The study artifact's directory (see :func:`study.create`).
        artifact_uri: The study artifact's URI (a SQLite study works only on a local one).
        train_path: Parquet file of the rows every trial trains on.
        validation_path: Parquet file of the rows every trial is scored on.
        target_column: The label column.
        worker: This worker's index, 0 to ``n_workers - 1``.
        timeout_seconds: Start no trial after this many seconds; None or 0 for no limit.
        heartbeat_interval: Seconds between heartbeats of a running trial.
        grace_period: Seconds without heartbeat after which another worker fails a trial.

    Raises:
        ComponentInputError: Bad worker index, other data than the study was tuned on, or a
            storage that differs from the study's.
    """
    started = time.perf_counter()
    shared, config = study.load(study_dir, artifact_uri, worker, heartbeat_interval, grace_period)
    share = config.share(worker)
    trainer = trainers.family_for(config.estimator, scores.task_of(config.metric)).trainer(
        config.estimator, train_path, validation_path, target_column, config.metric
    )
    _check_data(shared, trainer.data_fingerprint)
    orphans = study.fail_orphans(shared, worker)
    done_before = study.worker_done(shared, worker)
    remaining = max(0, share - done_before)
    states: list[TrialState] = []
    if remaining:
        shared.optimize(
            make_objective(config, trainer, worker),
            n_trials=remaining,
            timeout=timeout_seconds or None,
            catch=(ValueError,),
            callbacks=[lambda _, trial: states.append(trial.state)],
        )
    if len(states) == remaining:
        stopped_by = "share"
    elif config.sampler == "grid":
        stopped_by = "grid exhausted"
    else:
        stopped_by = "timeout"
    return WorkerResult(
        worker=worker,
        share=share,
        done_before=done_before,
        completed=states.count(TrialState.COMPLETE),
        pruned=states.count(TrialState.PRUNED),
        failed=states.count(TrialState.FAIL),
        orphans_failed=orphans,
        seconds=round(time.perf_counter() - started, 3),
        stopped_by=stopped_by,
    )


def write_result(result: WorkerResult, path: str) -> dict[str, object]:
    """Writes ``result`` as JSON to ``path`` (atomically); returns it as metadata."""
    metadata = result.metadata()
    write_text(path, json.dumps(metadata, indent=2, sort_keys=True))
    return metadata

"""Workers sharing a SQLite study: shares, pruning, resuming after a dead worker, repeatability."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.tuning import report, study
from kfp_mlops.components.tuning.worker import run_worker

from .conftest import make_study


def work(folder: Path, splits: dict, worker: int = 0, **options) -> object:
    return run_worker(
        str(folder), str(folder), splits["train"], splits["validation"], "target", worker, **options
    )


def trials_of(folder: Path) -> list[optuna.trial.FrozenTrial]:
    shared, _ = study.load(folder, str(folder))
    return shared.get_trials()


def test_create_writes_the_study_artifact(tmp_path):
    folder = make_study(tmp_path / "study", n_trials=6, n_workers=2)
    assert sorted(path.name for path in folder.iterdir()) == ["study.db", "study.json"]
    reference = study.StudyRef.read(folder)
    assert reference.storage == "sqlite-artifact"
    assert reference.metadata()["direction"] == "maximize"
    assert reference.config.n_workers == 2


def test_a_worker_runs_its_share_and_the_pruner_stops_bad_trials(tmp_path, breast_cancer_splits):
    folder = make_study(tmp_path / "study", n_trials=14)
    result = work(folder, breast_cancer_splits)

    assert (result.share, result.stopped_by) == (14, "share")
    assert result.completed + result.pruned == 14
    trials = trials_of(folder)
    assert [t.number for t in trials] == list(range(14))
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    assert pruned, "the median pruner stopped no trial"
    for trial in pruned:
        # Stopped between steps: fewer trees grown than sampled.
        assert max(trial.intermediate_values) < trial.params["n_estimators"]
    for trial in trials:
        if trial.state == TrialState.COMPLETE:
            assert max(trial.intermediate_values) == trial.params["n_estimators"]

    again = work(folder, breast_cancer_splits)
    assert (again.done_before, again.completed + again.pruned) == (14, 0)


def test_workers_split_the_budget_exactly(tmp_path, breast_cancer_splits):
    folder = make_study(tmp_path / "study", n_trials=7, n_workers=2)
    results = [work(folder, breast_cancer_splits, worker) for worker in (0, 1)]
    assert [r.share for r in results] == [4, 3]
    trials = trials_of(folder)
    assert len(trials) == 7
    assert sorted(t.user_attrs["worker"] for t in trials) == [0, 0, 0, 0, 1, 1, 1]


def test_a_seeded_study_with_one_worker_is_reproducible(tmp_path, breast_cancer_splits):
    runs = []
    for name in ("first", "second"):
        folder = make_study(tmp_path / name, n_trials=8, seed=11)
        work(folder, breast_cancer_splits)
        runs.append([(t.state, t.params, t.value) for t in trials_of(folder)])
    assert runs[0] == runs[1]


def test_a_refused_configuration_fails_its_trial_and_counts(tmp_path, breast_cancer_splits):
    # Valid for the estimator, but more neighbours than training rows: it fails when scoring.
    space = {"n_neighbors": {"type": "categorical", "choices": [5, 5000]}}
    folder = make_study(
        tmp_path / "study", n_trials=6, space=space, estimator="k_nearest_neighbors"
    )
    result = work(folder, breast_cancer_splits)
    assert result.failed >= 1 and result.completed + result.failed == 6
    failed = [t for t in trials_of(folder) if t.state == TrialState.FAIL]
    assert all("n_neighbors" in t.user_attrs["error"] for t in failed)
    assert study.worker_done(study.load(folder, str(folder))[0], 0) == 6


def test_a_timeout_stops_the_worker_after_the_running_trial(tmp_path, breast_cancer_splits):
    folder = make_study(tmp_path / "study", n_trials=10)
    result = work(folder, breast_cancer_splits, timeout_seconds=0.01)
    assert result.stopped_by == "timeout"
    assert result.completed + result.pruned == 1


def test_a_study_on_other_data_is_refused(tmp_path, breast_cancer_splits):
    folder = make_study(tmp_path / "study", n_trials=1)
    work(folder, breast_cancer_splits)
    swapped = {
        "train": breast_cancer_splits["test"],
        "validation": breast_cancer_splits["validation"],
    }
    with pytest.raises(ComponentInputError, match="was tuned on other train/validation data"):
        work(folder, swapped)


def test_a_storage_without_the_study_is_refused_in_one_line(tmp_path, monkeypatch):
    # Workers open the storage without creating tables (create() did): an emptied database, or
    # an external one that never held the study, is named, not set up afresh and then searched.
    folder = make_study(tmp_path / "study", n_trials=1)
    (folder / study.DATABASE_FILE).write_bytes(b"")
    with pytest.raises(ComponentInputError, match=r"cannot open the Optuna .*no such table"):
        study.load(folder, str(folder))
    monkeypatch.setenv(study.STORAGE_ENV, f"sqlite:///{tmp_path / 'shared.db'}")
    make_study(tmp_path / "a", n_trials=1, name="shared")
    reference = study.StudyRef.read(tmp_path / "a")
    (tmp_path / "a" / study.STUDY_FILE).write_text(
        reference.to_json().replace('"shared"', '"elsewhere"'), encoding="utf-8"
    )
    with pytest.raises(ComponentInputError, match="study 'elsewhere' is not in"):
        study.load(tmp_path / "a", str(tmp_path / "a"))


def test_sqlite_inside_the_artifact_is_refused_on_a_cluster(tmp_path):
    with pytest.raises(ComponentInputError, match="no OPTUNA_STORAGE_URL for the study in gs://"):
        study.storage_url(tmp_path, "gs://bucket/run/create-study/study")


def test_an_external_study_continues_and_refuses_other_settings(tmp_path, monkeypatch):
    monkeypatch.setenv(study.STORAGE_ENV, f"sqlite:///{tmp_path / 'shared.db'}")
    make_study(tmp_path / "a", n_trials=4, name="shared")
    make_study(tmp_path / "b", n_trials=6, name="shared")  # a larger budget continues it
    _, config = study.load(tmp_path / "b", str(tmp_path / "b"))
    assert config.n_trials == 6
    with pytest.raises(ComponentInputError, match=r"study 'shared' already exists .*seed: 7 there"):
        make_study(tmp_path / "c", n_trials=6, name="shared", seed=8)


WORKER_SCRIPT = """
import sys
from kfp_mlops.components.tuning.worker import run_worker
folder, train, validation = sys.argv[1:4]
run_worker(folder, folder, train, validation, "target", 0, heartbeat_interval=1, grace_period=2)
"""


def start_and_kill_mid_trial(folder: Path, splits: dict) -> int:
    """Starts worker 0 in a process, kills it while a trial runs; returns that trial's number."""
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, str(folder), splits["train"], splits["validation"]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            running = [
                t
                for t in trials_of(folder)
                if t.state == TrialState.RUNNING and t.intermediate_values and t.number >= 1
            ]
            if running:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                return running[0].number
            time.sleep(0.05)
        raise AssertionError("the worker never had a trial running")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


BIG_FOREST = {
    "n_estimators": {"type": "int", "low": 150, "high": 200},
    "max_depth": {"type": "int", "low": 4, "high": 12},
}


@pytest.mark.slow
def test_a_dead_worker_leaves_a_consistent_study_that_a_rerun_completes(
    tmp_path, breast_cancer_splits
):
    folder = make_study(tmp_path / "study", n_trials=3, space=BIG_FOREST, pruner="none")
    killed = start_and_kill_mid_trial(folder, breast_cancer_splits)
    states = {t.number: t.state for t in trials_of(folder)}
    assert states[killed] == TrialState.RUNNING

    result = work(folder, breast_cancer_splits)

    assert result.orphans_failed == [killed]
    assert result.done_before == killed
    trials = trials_of(folder)
    finished = [t for t in trials if study.counts_toward_budget(t)]
    assert len(finished) == 3
    (dead,) = [t for t in trials if t.state == TrialState.FAIL]
    assert dead.number == killed and "error" not in dead.user_attrs
    assert not [t for t in trials if t.state == TrialState.RUNNING]


@pytest.mark.slow
def test_the_summary_fails_trials_whose_heartbeat_stopped(tmp_path, breast_cancer_splits):
    folder = make_study(tmp_path / "study", n_trials=3, space=BIG_FOREST, pruner="none")
    killed = start_and_kill_mid_trial(folder, breast_cancer_splits)
    time.sleep(3)  # past the 2 s grace period

    summary = report.summarize(
        str(folder), str(folder), str(tmp_path / "r.html"), str(tmp_path / "t.parquet"), 2
    )

    assert summary.states["fail"] == 1 and summary.states["running"] == 0
    states = {t.number: t.state for t in trials_of(folder)}
    assert states[killed] == TrialState.FAIL

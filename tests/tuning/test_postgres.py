"""Two workers running at once against a real PostgreSQL study: no trial lost or run twice."""

import concurrent.futures
import json
import multiprocessing

import pytest
from optuna.trial import TrialState

from kfp_mlops.components.tuning import report, study
from kfp_mlops.components.tuning.worker import run_worker

from .conftest import make_study

pytestmark = pytest.mark.slow


def test_two_concurrent_workers_complete_the_study_together(
    postgres, breast_cancer_splits, tmp_path, monkeypatch
):
    url = postgres.create_database("two_workers")
    monkeypatch.setenv(study.STORAGE_ENV, url)
    folder = make_study(tmp_path / "study", n_trials=12, n_workers=2, name="two-workers")
    arguments = [
        (
            str(folder),
            str(folder),
            breast_cancer_splits["train"],
            breast_cancer_splits["validation"],
        )
    ] * 2

    # Separate processes, as separate pods would be; they inherit OPTUNA_STORAGE_URL.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        futures = [
            pool.submit(run_worker, *arguments[worker], "target", worker) for worker in (0, 1)
        ]
        results = [future.result() for future in futures]

    assert [r.share for r in results] == [6, 6]
    assert [r.completed + r.pruned for r in results] == [6, 6]
    shared, _ = study.load(folder, str(folder))
    trials = shared.get_trials()
    assert sorted(t.number for t in trials) == list(range(12))
    assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    assert sorted(t.user_attrs["worker"] for t in trials) == [0] * 6 + [1] * 6
    # The workers really ran at once: their first trials overlap in time.
    spans = {
        worker: (
            min(t.datetime_start for t in trials if t.user_attrs["worker"] == worker),
            max(t.datetime_complete for t in trials if t.user_attrs["worker"] == worker),
        )
        for worker in (0, 1)
    }
    assert spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1]

    # The artifact names the storage without the password.
    text = (folder / "study.json").read_text()
    assert json.loads(text)["storage"].startswith("postgresql+psycopg://postgres:***@127.0.0.1:")
    assert "s3cret" not in text
    assert not (folder / "study.db").exists()

    summary = report.summarize(
        str(folder), str(folder), str(tmp_path / "report.html"), str(tmp_path / "trials.parquet")
    )
    assert summary.trial_count == 12
    assert summary.states["complete"] + summary.states["pruned"] == 12


def test_a_postgres_study_continues_with_the_same_name(
    postgres, breast_cancer_splits, tmp_path, monkeypatch
):
    monkeypatch.setenv(study.STORAGE_ENV, postgres.create_database("continued"))
    first = make_study(tmp_path / "first", n_trials=3, name="continued")
    splits = breast_cancer_splits
    run_worker(str(first), str(first), splits["train"], splits["validation"], "target", 0)
    # A later run with a larger budget: the same study, only the new trials run.
    second = make_study(tmp_path / "second", n_trials=5, name="continued")
    result = run_worker(
        str(second), str(second), splits["train"], splits["validation"], "target", 0
    )
    assert (result.done_before, result.completed + result.pruned) == (3, 2)

"""tabular-classification with tuning, end to end on this machine: two workers, one study."""

import json
import sqlite3
from pathlib import Path

import pytest
from support.cli_runs import run_pipeline, step_statuses

pytestmark = pytest.mark.slow


def test_tuned_hyperparameters_train_the_model(breast_cancer_csv: Path, tmp_path: Path):
    code, summary = run_pipeline(
        "tabular-classification",
        tmp_path,
        (
            f"data_uri={breast_cancer_csv}",
            "target_column=target",
            "n_trials=8",
            "tuning_workers=2",
            "tuning_metric=accuracy",
        ),
    )

    assert code == 0, summary["error"]
    steps = step_statuses(summary)
    assert steps["given-hyperparameters"] == "skipped"
    for name in ("create-study", "run-trials", "summarize-study", "train-sklearn"):
        assert steps[name] == "succeeded", name

    outputs = tmp_path / "outputs"
    (study_dir,) = outputs.glob("*/create-study/study")
    with sqlite3.connect(study_dir / "study.db") as connection:
        rows = connection.execute("select number, state from trials order by number").fetchall()
    assert [number for number, _ in rows] == list(range(8))
    assert {state for _, state in rows} <= {"COMPLETE", "PRUNED"}
    workers = [
        json.loads(path.read_text())["artifacts"]["result"]["artifacts"][0]["metadata"]
        for path in outputs.glob("*/*/run-trials/executor_output.json")
    ]
    assert sorted((w["worker"], w["share"], w["trials_run"]) for w in workers) == [
        (0, 4, 4),
        (1, 4, 4),
    ]

    (summarized,) = outputs.glob("*/summarize-study/executor_output.json")
    best = json.loads(summarized.read_text())["parameterValues"]
    (trained,) = outputs.glob("*/train-sklearn/executor_output.json")
    model = json.loads(trained.read_text())["artifacts"]["model"]["artifacts"][0]["metadata"]
    for name, value in best["best_hyperparameters"].items():
        assert model["hyperparameters"][name] == value, name
    # The trained model is the best trial's: same seed, same data, same validation score.
    assert model["validation_accuracy"] == pytest.approx(best["best_score"])
    assert "Optimization history" in next(outputs.glob("*/summarize-study/report")).read_text()
    assert summary["tuning"]["best_hyperparameters"] == best["best_hyperparameters"]
    assert summary["tuning"]["best_score"] == best["best_score"]

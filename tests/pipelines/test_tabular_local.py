"""tabular-classification end to end on this machine, through the command users run."""

import sqlite3
from pathlib import Path

import pytest
from support.cli_runs import run_pipeline, step_statuses

pytestmark = pytest.mark.slow


def run_cli(run_dir: Path, *params: str) -> tuple[int, dict]:
    """Runs ``kfp-mlops run tabular-classification --json``; returns its exit status and summary."""
    return run_pipeline("tabular-classification", run_dir, params)


def registered_versions(run_dir: Path) -> int:
    database = run_dir / "mlflow.db"
    if not database.exists():
        return 0
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master")}
        if "model_versions" not in tables:
            return 0
        return connection.execute("select count(*) from model_versions").fetchone()[0]


def test_breast_cancer_is_approved_registered_and_served(breast_cancer_csv: Path, tmp_path: Path):
    code, summary = run_cli(tmp_path, f"data_uri={breast_cancer_csv}", "target_column=target")

    assert code == 0, summary["error"]
    assert summary["status"] == "succeeded"
    assert summary["metrics"]["accuracy"] >= 0.90
    assert summary["gate"]["approved"] is True
    assert any("accuracy" in reason for reason in summary["gate"]["reasons"])
    assert step_statuses(summary) == {
        "resolve-data-version": "succeeded",
        "ingest-dataset": "succeeded",
        "validate-dataset": "succeeded",
        "split-dataset": "succeeded",
        "given-hyperparameters": "succeeded",
        "create-study": "skipped",
        "run-trials": "skipped",
        "summarize-study": "skipped",
        "train-sklearn": "succeeded",
        "evaluate-classifier": "succeeded",
        "champion-challenger-gate": "succeeded",
        "register-model-with-card": "succeeded",
        "serve-check": "succeeded",
        "check-champion": "skipped",
        "deploy-inference-service": "skipped",
        "promote-champion": "skipped",
        "record-rejection": "skipped",
    }
    assert all(step["seconds"] > 0 for step in summary["steps"] if step["status"] == "succeeded")
    assert summary["registry"]["model_version"] == "1"
    # No deployment follows: the registration step promoted the version itself.
    assert summary["registry"]["champion_version"] == "1"
    assert registered_versions(tmp_path) == 1
    # The model card is written in the registration step: stored with the version, and a report.
    with sqlite3.connect(tmp_path / "mlflow.db") as connection:
        tags = connection.execute(
            "select version, value from model_version_tags where key = 'model_card'"
        ).fetchall()
    assert [(str(version), value) for version, value in tags] == [
        ("1", "model_card/model_card.html")
    ]
    card = (tmp_path / "reports" / "register-model-with-card-card.html").read_text()
    assert "Model card: tabular-classifier version 1" in card
    assert summary["serving"]["endpoint"].startswith("http://127.0.0.1:")
    assert summary["serving"]["rows_checked"] > 0


def test_unreachable_threshold_takes_the_else_branch(breast_cancer_csv: Path, tmp_path: Path):
    code, summary = run_cli(
        tmp_path,
        f"data_uri={breast_cancer_csv}",
        "target_column=target",
        'thresholds={"accuracy": 0.999}',
    )

    assert code == 3
    assert summary["status"] == "succeeded"
    assert summary["gate"]["approved"] is False
    reason, no_champion = summary["gate"]["reasons"]
    assert "accuracy" in reason and "0.999" in reason and "failed by" in reason
    assert no_champion.startswith("no champion:")
    steps = step_statuses(summary)
    assert steps["record-rejection"] == "succeeded"
    assert steps["register-model-with-card"] == steps["serve-check"] == "skipped"
    assert summary["registry"] is None and summary["serving"] is None
    assert registered_versions(tmp_path) == 0


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda folder: folder / "absent.csv", "input file not found"),
        (lambda folder: _write(folder / "no_target.csv", "a,b\n1,2\n3,4\n"), "'target'"),
    ],
    ids=["missing-file", "no-target-column"],
)
def test_bad_input_fails_with_one_line_reason(tmp_path: Path, make_input, message: str):
    data = make_input(tmp_path)
    code, summary = run_cli(tmp_path / "run", f"data_uri={data}", "target_column=target")

    assert code == 1
    assert summary["status"] == "failed"
    assert message in summary["error"]
    assert "\n" not in summary["error"]
    failed = [step for step in summary["steps"] if step["status"] == "failed"]
    assert len(failed) == 1
    assert step_statuses(summary)["register-model-with-card"] == "skipped"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path

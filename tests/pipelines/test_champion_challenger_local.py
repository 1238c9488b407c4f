"""Champion/challenger across runs of tabular-classification against one MLflow store, then
``kfp-mlops rollback``: the commands users run, end to end on this machine (no cluster)."""

import subprocess
from pathlib import Path

import pytest
from support.cli_runs import CLI, run_pipeline, step_statuses
from support.mlflow_store import aliases

pytestmark = pytest.mark.slow

MODEL = "tabular-classifier"
THRESHOLDS = '{"accuracy": 0.9, "f1": 0.85, "roc_auc": 0.9}'


def run(folder: Path, store: str, data: Path, estimator: str, hyperparameters: str) -> tuple:
    params = (
        f"data_uri={data}",
        "target_column=target",
        f"mlflow_tracking_uri={store}",
        f"estimator={estimator}",
        f"hyperparameters={hyperparameters}",
        f"thresholds={THRESHOLDS}",
    )
    return run_pipeline("tabular-classification", folder, params)


def decision_report(folder: Path) -> str:
    (path,) = (folder / "outputs").glob("*/champion-challenger-gate/decision")
    return path.read_text(encoding="utf-8")


def test_weaker_challenger_rejected_stronger_promoted_then_rolled_back(breast_cancer_csv, tmp_path):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"

    # 1. No champion yet: a depth-2 tree passes the thresholds alone and becomes champion.
    code, first = run(
        tmp_path / "run-1", store, breast_cancer_csv, "decision_tree", '{"max_depth": 2}'
    )
    assert code == 0, first["error"]
    assert first["gate"]["approved"] is True
    assert first["gate"]["reasons"][-1].startswith("no champion: registered model")
    assert first["registry"]["champion_version"] == "1"  # promoted in the registration step
    assert step_statuses(first)["deploy-inference-service"] == "skipped"  # no cluster asked for
    assert aliases(store, MODEL) == {"champion": "1", "challenger": "1"}

    # 2. A stump passes every threshold but falls more than 5 % below the champion's ROC AUC.
    code, weaker = run(
        tmp_path / "run-2", store, breast_cancer_csv, "decision_tree", '{"max_depth": 1}'
    )
    assert code == 3  # succeeded, gate rejected
    assert weaker["gate"]["approved"] is False
    failed = [reason for reason in weaker["gate"]["reasons"] if "outside" in reason]
    assert len(failed) == 1
    assert failed[0].startswith("roc_auc ")
    assert "worse than champion version 1's" in failed[0]
    assert "outside the 5.00% margin" in failed[0]
    assert step_statuses(weaker)["register-model-with-card"] == "skipped"
    assert step_statuses(weaker)["record-rejection"] == "succeeded"
    assert "| roc_auc |" in decision_report(tmp_path / "run-2")
    assert aliases(store, MODEL) == {"champion": "1", "challenger": "1"}

    # 3. A random forest holds up against the champion: registered as 2 and promoted.
    code, stronger = run(tmp_path / "run-3", store, breast_cancer_csv, "random_forest", "{}")
    assert code == 0, stronger["error"]
    assert stronger["gate"]["approved"] is True
    assert any(
        "better than champion version 1's" in reason for reason in stronger["gate"]["reasons"]
    )
    assert stronger["registry"]["model_version"] == "2"
    assert aliases(store, MODEL) == {"champion": "2", "previous": "1", "challenger": "2"}

    # 4. One command restores the previous champion.
    finished = subprocess.run(
        [CLI, "rollback", MODEL, "--tracking-uri", store],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    assert f"{MODEL}: version 1 is 'champion' again (was 2)" in finished.stdout
    assert aliases(store, MODEL) == {"champion": "1", "challenger": "2"}


def test_deploy_to_cluster_runs_the_deployment_branch_and_fails_closed(
    breast_cancer_csv, tmp_path, monkeypatch
):
    # kfp.local keeps artifacts on this machine's disk, which no cluster can fetch: the
    # deployment step refuses before any API call, and no alias moves.
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    code, summary = run_pipeline(
        "tabular-classification",
        tmp_path / "run",
        (
            f"data_uri={breast_cancer_csv}",
            "target_column=target",
            f"mlflow_tracking_uri={store}",
            "estimator=logistic_regression",
            "deploy_to_cluster=true",
        ),
    )

    assert code == 1
    steps = step_statuses(summary)
    assert steps["serve-check"] == "succeeded"
    assert steps["deploy-inference-service"] == "failed"
    assert steps["promote-champion"] == "skipped"
    assert "is not one KServe can fetch" in summary["error"]
    assert aliases(store, MODEL) == {"challenger": "1"}

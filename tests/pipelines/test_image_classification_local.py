"""image-classification end to end on this machine (CPU), through the command users run."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from support.cli_runs import run_command, run_pipeline
from support.torch_training import digits_csv

pytestmark = pytest.mark.slow

SERVE_ROWS = "serve_check_rows=25"


def run_cli(run_dir: Path, *params: str) -> tuple[int, dict]:
    return run_pipeline("image-classification", run_dir, params)


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> Path:
    return digits_csv(tmp_path_factory.mktemp("digits"))


@pytest.fixture(scope="module")
def uninterrupted(digits, tmp_path_factory) -> dict:
    code, summary = run_cli(tmp_path_factory.mktemp("run"), f"data_uri={digits}", SERVE_ROWS)
    assert code == 0, summary["error"]
    return summary


def test_digits_cnn_reaches_095_and_is_served(uninterrupted):
    summary = uninterrupted
    assert summary["status"] == "succeeded"
    assert summary["metrics"]["accuracy"] >= 0.95
    assert summary["gate"]["approved"] is True
    assert {step["name"]: step["status"] for step in summary["steps"]} == {
        "resolve-data-version": "succeeded",
        "ingest-dataset": "succeeded",
        "validate-dataset": "succeeded",
        "split-dataset": "succeeded",
        "train-pytorch": "succeeded",
        "evaluate-classifier": "succeeded",
        "metric-gate": "succeeded",
        "serve-check": "succeeded",
        "record-rejection": "skipped",
    }
    assert summary["serving"]["rows_checked"] == 25
    log = (Path(summary["run_dir"]) / "pipeline.log").read_text()
    assert "training cnn on cpu" in log and "samples/s" in log


def test_a_run_killed_after_a_checkpoint_resumes_and_reaches_the_same_quality(
    digits, uninterrupted, tmp_path
):
    checkpoints = tmp_path / "checkpoints"
    params = (
        f"data_uri={digits}",
        f"checkpoint_uri={checkpoints}",
        "checkpoint_every=2",
        SERVE_ROWS,
    )
    first = subprocess.Popen(
        run_command("image-classification", tmp_path / "killed", params),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while not list(checkpoints.glob("*/epoch-*.pt")):
        assert first.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 600 s"
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    killed_log = (tmp_path / "killed" / "pipeline.log").read_text()
    assert "Task 'train-pytorch' finished" not in killed_log

    code, summary = run_cli(tmp_path / "resumed", *params)

    assert code == 0, summary["error"]
    log = (tmp_path / "resumed" / "pipeline.log").read_text()
    assert "resuming from checkpoint" in log and "continuing at epoch" in log
    assert summary["metrics"]["accuracy"] >= 0.95
    assert abs(summary["metrics"]["accuracy"] - uninterrupted["metrics"]["accuracy"]) <= 0.01

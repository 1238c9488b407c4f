"""Run folders of ``kfp-mlops run``: two runs never share one, and a reused one reports its own run.

Two runs started in the same second (two terminals, a CI matrix) used to get the same default
folder, and a ``--run-dir`` used twice listed the first run's step outputs in the second's summary.
"""

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest
from kfp import dsl

from kfp_mlops.compile import local_run
from kfp_mlops.compile.summary import summarize


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def double(value: float) -> float:
    """A step with one parameter output."""
    return 2 * value


@dsl.pipeline(name="folder-probe")
def folder_probe(value: float):
    double(value=value)


def test_two_default_run_dirs_in_one_second_differ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(time, "strftime", lambda *_: "20260101-000000")

    first = local_run.default_run_dir("p", tmp_path)
    second = local_run.default_run_dir("p", tmp_path)

    assert first != second
    assert first.is_dir() and second.is_dir()  # claimed: a third caller cannot get either


def test_runs_racing_for_a_default_run_dir_each_get_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(time, "strftime", lambda *_: "20260101-000000")
    claimed: list[Path] = []
    start = threading.Barrier(8)

    def claim() -> None:
        start.wait()
        claimed.append(local_run.default_run_dir("p", tmp_path))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(claimed)) == 8
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(p.name for p in claimed)


def test_a_reused_run_dir_reports_only_this_runs_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    earlier = tmp_path / "outputs" / "tabular-classification-2026-01-01-00-00-00-000000"
    (earlier / "train-sklearn").mkdir(parents=True)
    (earlier / "train-sklearn" / "executor_output.json").write_text(
        json.dumps({"parameterValues": {"Output": 1.0}}), encoding="utf-8"
    )

    run = local_run.run_locally(folder_probe, {"value": 0.25}, tmp_path)

    assert run.status == "succeeded", run.error
    assert set(run.outputs) == {"double"}
    assert run.outputs["double"]["parameterValues"] == {"Output": 0.5}
    assert [step["name"] for step in summarize(run)["steps"]] == ["double"]

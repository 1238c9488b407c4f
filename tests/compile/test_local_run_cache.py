"""``run_locally`` with kfp.local's cache: a cached step is marked ``cached`` and its outputs (read
back from the cache entry) still reach the summary."""

import os
import sys
from pathlib import Path

import pytest
from kfp import dsl
from kfp.dsl import Metrics, Output

from kfp_mlops.compile.local_run import run_locally
from kfp_mlops.compile.summary import summarize


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def score(value: float, metrics: Output[Metrics]) -> float:
    """A pure step with an artifact and a parameter output.

    The artifact's file must exist: kfp.local counts a cache entry whose artifact file is gone as
    a miss (kfp/local/cache.py 2.17, ``_deserialize_artifact``).
    """
    with open(metrics.path, "w", encoding="utf-8") as file:
        file.write(str(value))
    metrics.log_metric("accuracy", value)
    return value


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def decide(accuracy: float) -> bool:
    """A step that is never cached."""
    return accuracy > 0.5


@dsl.pipeline(name="cache-probe")
def cache_probe(value: float):
    scored = score(value=value)
    decide(accuracy=scored.outputs["Output"]).set_caching_options(False)


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The steps run with the python3 first on PATH: this environment's."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def _statuses(run) -> dict[str, str]:
    return {step.name: step.status for step in run.steps}


def test_a_cached_step_is_marked_cached_and_keeps_its_outputs(tmp_path: Path, on_path):
    first = run_locally(cache_probe, {"value": 0.75}, tmp_path / "first", enable_caching=True)
    second = run_locally(cache_probe, {"value": 0.75}, tmp_path / "second", enable_caching=True)
    other = run_locally(cache_probe, {"value": 0.5}, tmp_path / "other", enable_caching=True)

    assert _statuses(first) == {"score": "succeeded", "decide": "succeeded"}
    assert _statuses(second) == {"score": "cached", "decide": "succeeded"}
    assert _statuses(other) == {"score": "succeeded", "decide": "succeeded"}
    assert summarize(second)["metrics"] == summarize(first)["metrics"] == {"accuracy": 0.75}
    assert second.outputs["score"]["parameterValues"] == {"Output": 0.75}
    assert summarize(other)["metrics"] == {"accuracy": 0.5}


def test_without_caching_nothing_is_cached(tmp_path: Path, on_path):
    run_locally(cache_probe, {"value": 0.75}, tmp_path / "first")
    again = run_locally(cache_probe, {"value": 0.75}, tmp_path / "second")
    assert _statuses(again) == {"score": "succeeded", "decide": "succeeded"}

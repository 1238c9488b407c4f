"""Caching that follows the data: new data at the same URI is never answered from the cache.

The issue's reproduction through the command users run, ``kfp-mlops run --cache``: a CSV, the same
CSV cut to 300 rows at the same path, then the same data again.
"""

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from support.cli_runs import run_command, step_statuses

from kfp_mlops.compile.local_run import read_task_outputs
from kfp_mlops.components.data.data_version import resolve_data_version

pytestmark = pytest.mark.slow

DATA_STEPS = (
    "ingest-dataset",
    "validate-dataset",
    "split-dataset",
    "train-sklearn",
    "evaluate-classifier",
)
"""The steps whose inputs follow from the data: run again on new data, cached on the same."""
THRESHOLDS = '{"accuracy": 0.8, "f1": 0.8}'
"""Met on the first 300 rows of breast cancer too, so that every run registers its model."""


def _run_cached(run_dir: Path, data: Path) -> dict:
    line = run_command(
        "tabular-classification",
        run_dir,
        [f"data_uri={data}", "target_column=target", f"thresholds={THRESHOLDS}"],
    )
    finished = subprocess.run([*line, "--cache"], capture_output=True, text=True, timeout=900)
    assert finished.stdout.strip(), finished.stderr[-3000:]
    summary = json.loads(finished.stdout)
    assert finished.returncode == 0, summary["error"]
    return summary


def _ingested_rows(run_dir: Path) -> float:
    outputs = read_task_outputs(run_dir / "outputs")
    [dataset] = outputs["ingest-dataset"]["artifacts"]["dataset"]["artifacts"]
    return dataset["metadata"]["rows"]


def test_new_data_at_the_same_path_is_ingested_and_unchanged_data_is_cached(
    breast_cancer_frame: pd.DataFrame, tmp_path: Path
):
    data = tmp_path / "data.csv"
    breast_cancer_frame.to_csv(data, index=False)
    runs = tmp_path / "runs"  # the runs share kfp.local's cache, runs/.kfp_cache

    first = _run_cached(runs / "first", data)
    assert _ingested_rows(runs / "first") == 569

    breast_cancer_frame.head(300).to_csv(data, index=False)
    second = _run_cached(runs / "second", data)
    statuses = step_statuses(second)
    assert all(statuses[step] == "succeeded" for step in DATA_STEPS), statuses
    assert statuses["given-hyperparameters"] == "cached"  # its inputs do not depend on the data
    assert _ingested_rows(runs / "second") == 300
    assert second["metrics"] != first["metrics"]
    accuracy = f"accuracy {second['metrics']['accuracy']:.4f}"
    assert any(reason.startswith(accuracy) for reason in second["gate"]["reasons"])

    # The data version is in MLflow, on the run and on the registered version.
    version = resolve_data_version(str(data))["data_version"]
    client = MlflowClient(f"sqlite:///{runs / 'second' / 'mlflow.db'}")
    registered = client.get_model_version("tabular-classifier", second["registry"]["model_version"])
    assert registered.tags["data_version"] == version
    assert client.get_run(second["registry"]["run_id"]).data.tags["data_version"] == version

    third = _run_cached(runs / "third", data)
    statuses = step_statuses(third)
    assert all(statuses[step] == "cached" for step in DATA_STEPS), statuses
    assert statuses["resolve-data-version"] == "succeeded"  # never cached
    assert statuses["champion-challenger-gate"] == "succeeded"  # reads the registry
    assert statuses["register-model-with-card"] == "succeeded"
    # The summary still carries what the cached steps produced.
    assert third["metrics"] == second["metrics"]
    assert third["gate"] == {"approved": True, "reasons": second["gate"]["reasons"]}
    assert third["registry"]["model_version"] == "1"

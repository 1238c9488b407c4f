"""``kfp-mlops serve``: a Model directory or an MLflow model in the KServe model server, until
interrupted."""

import http.client
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from support.mlflow_store import empty_store, fresh_store

from kfp_mlops.compile.cli import main
from kfp_mlops.components.common.features import feature_frame
from kfp_mlops.components.common.model_io import load_sklearn_model
from kfp_mlops.components.common.protocols import PROTOCOLS
from kfp_mlops.components.common.tables import dataset_metadata, read_parquet
from kfp_mlops.components.registry.register import DatasetPart, register_training
from kfp_mlops.components.training.train import train_to_directory

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).parent / "kfp-mlops")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, breast_cancer_splits) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("trained") / "model"
    metadata = train_to_directory(
        breast_cancer_splits["train"], str(folder), "target", "logistic_regression"
    )
    return folder, metadata


@pytest.fixture(scope="module")
def registered(tmp_path_factory, trained, breast_cancer_splits) -> str:
    """The trained model registered in a fresh MLflow store with alias champion."""
    store = fresh_store(
        empty_store(tmp_path_factory.mktemp("template")), tmp_path_factory.mktemp("s")
    )
    folder, metadata = trained
    parts = {
        name: DatasetPart(path, path, dataset_metadata(read_parquet(path)))
        for name, path in breast_cancer_splits.items()
    }
    register_training(
        str(folder), metadata, {"accuracy": 0.97}, parts, store, "breast-cancer", alias="champion"
    )
    return store


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def request(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = None if body is None else json.dumps(body)
        connection.request(method, path, body=payload, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def serve(*arguments: str, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [CLI, "serve", *arguments, "--port", str(port), "--name", "bc"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-2000:]
        try:
            if request(port, "GET", "/v2/health/ready")[0] == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("kfp-mlops serve was not ready in 120 s")


def check_answers(port: int, trained, splits) -> None:
    folder, metadata = trained
    rows = feature_frame(read_parquet(splits["test"]), metadata["feature_columns"]).head(5)
    expected = load_sklearn_model(folder).predict(rows)
    for protocol in PROTOCOLS:
        status, text = request(port, "POST", protocol.path("bc"), protocol.body(rows, "cli-test"))
        assert status == 200, text
        np.testing.assert_array_equal(protocol.answer(json.loads(text)), expected)
    status, metrics = request(port, "GET", "/metrics")
    assert status == 200 and "request_predict_seconds" in metrics


def test_serves_a_model_directory_until_interrupted(trained, breast_cancer_splits):
    port = free_port()
    process = serve(str(trained[0]), port=port)
    try:
        check_answers(port, trained, breast_cancer_splits)
    finally:
        process.send_signal(signal.SIGINT)  # to the command alone: it passes it on
        _, log = process.communicate(timeout=30)
    assert process.returncode == 0
    assert f"at http://127.0.0.1:{port} (V1 /v1/models/bc:predict" in log
    assert "Finished server process" in log


def test_serves_a_registered_model_by_alias(trained, registered, breast_cancer_splits):
    port = free_port()
    process = serve("breast-cancer@champion", "--tracking-uri", registered, port=port)
    try:
        check_answers(port, trained, breast_cancer_splits)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_unknown_model_is_one_line():
    result = CliRunner().invoke(main, ["serve", "no/such/thing"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: MODEL 'no/such/thing' is neither a directory nor an MLflow model "
        "(models:/NAME/VERSION, models:/NAME@ALIAS, runs:/RUN/PATH or NAME@ALIAS)"
    )


def test_registered_model_needs_a_tracking_uri(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = CliRunner().invoke(main, ["serve", "breast-cancer@champion"])
    assert result.exit_code == 1
    assert "models:/breast-cancer@champion is an MLflow model: give --tracking-uri" in result.output


def test_missing_alias_is_named(registered):
    result = CliRunner().invoke(main, ["serve", "breast-cancer@nope", "--tracking-uri", registered])
    assert result.exit_code == 1
    assert "cannot load models:/breast-cancer@nope" in result.output

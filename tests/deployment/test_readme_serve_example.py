"""The README's example of ``kfp-mlops serve``, run as written against the real model server.

The README's serve line starts the server on a Model folder of a run; the request block (written
for "another shell") builds ``request.json`` from ``data/breast_cancer.csv`` and sends it with curl.
Only the port is changed, to a free one, since 8080 may be taken on a shared machine.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from kfp_mlops.components.common.model_io import load_sklearn_model
from kfp_mlops.components.training.train import train_to_directory

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"


def _serving_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Serving a model on your machine")
    return text[start : text.index("\n## ", start + 1)]


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def _ready(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-2000:]
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError("kfp-mlops serve was not listening after 120 s")


@pytest.fixture
def clone(tmp_path: Path, breast_cancer_csv: Path, breast_cancer_splits: dict) -> Path:
    """A folder laid out as after the README's main job: data/ and a run's Model folder."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "breast_cancer.csv").write_bytes(breast_cancer_csv.read_bytes())
    model = tmp_path / "runs" / "tabular-classification-1" / "outputs" / "run" / "train-sklearn"
    train_to_directory(
        breast_cancer_splits["train"], str(model / "model"), "target", "logistic_regression"
    )
    return tmp_path


def test_the_readme_curl_example_gets_the_models_predictions(clone: Path):
    serve_block, request_block = _bash_blocks(_serving_section())[:2]
    [serve_line] = [line for line in serve_block.splitlines() if "train-sklearn/model" in line]
    port = _free_port()
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    environment = {**os.environ, "PATH": path}
    server = subprocess.Popen(
        ["bash", "-c", f"exec {serve_line.split('#')[0].strip()} --port {port}"],
        cwd=clone,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _ready(port, server)
        request = request_block.replace("localhost:8080", f"localhost:{port}")
        answer = subprocess.run(
            ["bash", "-c", request], cwd=clone, env=environment, capture_output=True, text=True
        )
        assert answer.returncode == 0, answer.stderr
        rows = pd.read_csv(clone / "data" / "breast_cancer.csv").drop(columns="target").head(2)
        model_dir = next(clone.glob("runs/*/outputs/*/train-sklearn/model"))
        expected = load_sklearn_model(model_dir).predict(rows)
        assert json.loads(answer.stdout) == {"predictions": expected.tolist()}

        # The header is what makes it work: the same request without it is refused.
        without = request.replace("-H 'Content-Type: application/json' ", "")
        refused = subprocess.run(
            ["bash", "-c", without], cwd=clone, env=environment, capture_output=True, text=True
        )
        assert "Expected 2D array, got scalar array instead" in refused.stdout
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)

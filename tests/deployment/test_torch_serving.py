"""PyTorch Models in the KServe model server: served as their ONNX export, checked like sklearn."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.torch_training import train_small_mlp

from kfp_mlops.components.common.model_loading import find_model_file, load_model_dir
from kfp_mlops.components.common.protocols import PROTOCOLS, InferenceClient
from kfp_mlops.components.common.torch_artifact import ONNX_FILE, TorchOnnxClassifier
from kfp_mlops.components.serving.check import run_serve_check
from kfp_mlops.components.serving.local_server import running_model_server


@pytest.fixture(scope="module")
def torch_model(breast_cancer_splits, tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("torch") / "model"
    return folder, train_small_mlp(breast_cancer_splits, folder)


def test_the_model_file_of_a_pytorch_model_is_its_onnx_export(torch_model):
    folder = torch_model[0]
    assert find_model_file(folder) == folder / ONNX_FILE
    assert isinstance(load_model_dir(folder), TorchOnnxClassifier)


@pytest.mark.slow
def test_serve_check_passes_for_a_pytorch_model(torch_model, breast_cancer_splits, tmp_path):
    folder, metadata = torch_model
    result = run_serve_check(
        str(folder),
        breast_cancer_splits["test"],
        "target",
        str(tmp_path / "report.md"),
        str(tmp_path / "metrics.json"),
        feature_columns=metadata["feature_columns"],
        model_target_column="target",
        max_rows=20,
    )
    assert result.rows_checked == 20 and result.model_file == "model.onnx"
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert {"v1_rows_latency_ms_p50", "v1_pandas_latency_ms_p50", "v2_latency_ms_p50"} <= set(
        metrics
    )


@pytest.mark.slow
def test_every_protocol_answers_the_offline_labels(torch_model, breast_cancer_splits):
    folder, metadata = torch_model
    rows = pd.read_parquet(breast_cancer_splits["test"])[metadata["feature_columns"]].head(5)
    offline = load_model_dir(folder)
    with running_model_server(folder) as server:
        client = InferenceClient(server.url)
        try:
            for protocol in PROTOCOLS:
                reply = client.post(protocol.path("model"), protocol.body(rows, protocol.name))
                assert reply.status == 200, reply.body
                served = protocol.answer(reply.body)
                np.testing.assert_array_equal(served, offline.predict(rows))
        finally:
            client.close()

"""Every offered regressor, served by the real KServe model server, answers its offline numbers."""

import json
from pathlib import Path

import pytest

from kfp_mlops.components.common.estimators import REGRESSORS
from kfp_mlops.components.serving.check import run_serve_check
from kfp_mlops.components.training.train_regressor import train_regressor_to_directory

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", sorted(REGRESSORS))
def test_each_regressor_passes_the_serve_check(name, diabetes_splits, tmp_path: Path):
    folder = tmp_path / "model"
    metadata = train_regressor_to_directory(diabetes_splits["train"], str(folder), "target", name)
    result = run_serve_check(
        str(folder),
        diabetes_splits["test"],
        "target",
        str(tmp_path / "report.md"),
        str(tmp_path / "metrics.json"),
        feature_columns=metadata["feature_columns"],
        model_target_column="target",
        max_rows=25,
        onnx_metadata=metadata["onnx"],
    )
    assert result.rows_checked == 25
    assert [timing.protocol.name for timing in result.timings] == ["v1-rows", "v1-pandas", "v2"]
    assert result.onnx.r2 >= 0.999 and result.onnx.reason == ""
    assert json.loads((tmp_path / "metrics.json").read_text())["onnx_prediction_r2"] >= 0.999
    assert json.loads((tmp_path / "metrics.json").read_text())["rows_checked"] == 25


def test_the_pytorch_regressor_passes_the_serve_check(diabetes_splits, tmp_path: Path):
    from support.torch_training import train_small_mlp

    folder = tmp_path / "model"
    metadata = train_small_mlp(diabetes_splits, folder, task="regression")
    result = run_serve_check(
        str(folder),
        diabetes_splits["test"],
        "target",
        str(tmp_path / "report.md"),
        str(tmp_path / "metrics.json"),
        feature_columns=metadata["feature_columns"],
        model_target_column="target",
        max_rows=25,
        onnx_metadata=metadata.get("onnx"),
    )
    # every protocol's answers equal the ONNX export's offline predictions (numbers, one per row)
    assert result.rows_checked == 25 and result.model_file == "model.onnx"
    assert [timing.protocol.name for timing in result.timings] == ["v1-rows", "v1-pandas", "v2"]
    assert "PyTorch Model's ONNX export" in (tmp_path / "report.md").read_text()

"""PyTorch training: what it writes, early stopping, checkpoints and resuming, DDP, precision."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from support.torch_training import small_mlp, train_small_mlp

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.tables import read_parquet
from kfp_mlops.components.common.torch_artifact import load_onnx_classifier
from kfp_mlops.components.training.torch_export import load_state_dict
from kfp_mlops.components.training.torch_models import ProbabilityModule, build_classifier
from kfp_mlops.components.training.torch_train import (
    TrainingJob,
    TrainingSettings,
    train_pytorch_to_directory,
)


def test_writes_the_triton_repository_state_dict_and_manifest(
    breast_cancer_splits, tmp_path, capsys
):
    metadata = train_small_mlp(breast_cancer_splits, tmp_path / "model")

    files = sorted(str(p.relative_to(tmp_path / "model")) for p in (tmp_path / "model").rglob("*"))
    assert files == [
        "kfp_mlops_model.json",
        "model",
        "model/1",
        "model/1/model.onnx",
        "model/config.pbtxt",
        "model_torchscript",
        "model_torchscript/1",
        "model_torchscript/1/model.pt",
        "model_torchscript/config.pbtxt",
        "state_dict.pt",
    ]
    assert metadata["framework"] == "pytorch"
    assert metadata["architecture"] == "mlp"
    assert metadata["hyperparameters"] == {"hidden_sizes": [16], "dropout": 0.1}
    assert len(metadata["feature_columns"]) == 30 and metadata["classes"] == [0, 1]
    assert metadata["validation_accuracy"] >= 0.9
    assert metadata["device"] == "cpu" and metadata["precision"] == "fp32"
    assert metadata["processes"] == 1 and metadata["resumed_from_epoch"] == 0
    assert metadata["epochs_trained"] == 6 and metadata["samples_per_second"] > 0
    log = capsys.readouterr().out
    epoch_lines = [line for line in log.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 6
    assert all(
        "train_loss" in line and "val_accuracy" in line and "samples/s" in line
        for line in epoch_lines
    )
    config = (tmp_path / "model" / "model" / "config.pbtxt").read_text()
    assert 'platform: "onnxruntime_onnx"' in config and "dims: [ -1, 30 ]" in config
    assert "dims: [ -1, 2 ]" in config
    torchscript_config = (tmp_path / "model" / "model_torchscript" / "config.pbtxt").read_text()
    assert 'platform: "pytorch_libtorch"' in torchscript_config and "INPUT__0" in torchscript_config


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_state_dict_torchscript_and_onnx_answer_the_same(breast_cancer_splits, tmp_path):
    metadata = train_small_mlp(breast_cancer_splits, tmp_path / "model")
    test = read_parquet(breast_cancer_splits["test"]).to_pandas()
    rows = test[metadata["feature_columns"]].to_numpy(dtype=np.float32)
    rows[0, 3] = np.nan  # a missing value is filled by the model itself

    rebuilt = build_classifier("mlp", metadata["hyperparameters"], 30, 2)
    rebuilt.load_state_dict(load_state_dict(tmp_path / "model"))
    scripted = torch.jit.load(str(tmp_path / "model" / "model_torchscript" / "1" / "model.pt"))
    with torch.no_grad():
        from_state = ProbabilityModule(rebuilt.eval())(torch.from_numpy(rows)).numpy()
        from_script = scripted(torch.from_numpy(rows)).numpy()
    from_onnx = load_onnx_classifier(tmp_path / "model").predict_proba(rows)

    assert np.isfinite(from_onnx).all()
    np.testing.assert_allclose(from_script, from_state, atol=1e-5)
    np.testing.assert_allclose(from_onnx, from_state, atol=1e-5)
    accuracy = (from_onnx.argmax(axis=1) == test["target"].to_numpy()).mean()
    assert accuracy >= 0.9


def test_early_stopping_keeps_the_best_epoch(breast_cancer_splits, tmp_path, capsys):
    metadata = train_small_mlp(
        breast_cancer_splits, tmp_path / "model", max_epochs=200, patience=1, learning_rate=0.05
    )
    assert metadata["stopped_early"] is True
    assert metadata["epochs_trained"] < 200
    assert metadata["best_epoch"] == metadata["epochs_trained"] - 1
    assert f"keeping epoch {metadata['best_epoch']}" in capsys.readouterr().out


def test_default_checkpoints_leave_the_finished_artifact(breast_cancer_splits, tmp_path, capsys):
    train_small_mlp(breast_cancer_splits, tmp_path / "model")
    log = capsys.readouterr().out
    assert f"{tmp_path / 'model' / 'checkpoints'}/" in log and "epoch-00006.pt written" in log
    assert not (tmp_path / "model" / "checkpoints").exists()


def test_rerun_with_a_checkpoint_uri_resumes_and_gives_the_same_model(
    breast_cancer_splits, tmp_path, capsys
):
    location = str(tmp_path / "checkpoints")
    first = train_small_mlp(breast_cancer_splits, tmp_path / "a", checkpoint_uri=location)
    capsys.readouterr()
    second = train_pytorch_to_directory(
        breast_cancer_splits["train"],
        breast_cancer_splits["validation"],
        str(tmp_path / "b"),
        "target",
        small_mlp(),
        checkpoint_uri=location,
    )
    log = capsys.readouterr().out
    assert "resuming from checkpoint" in log and "epochs 1-6 done, continuing at epoch 7" in log
    assert second["resumed_from_epoch"] == 6
    assert second["validation_accuracy"] == first["validation_accuracy"]
    for name, value in load_state_dict(tmp_path / "a").items():
        assert torch.equal(value, load_state_dict(tmp_path / "b")[name]), name


def test_other_settings_do_not_resume_from_these_checkpoints(
    breast_cancer_splits, tmp_path, capsys
):
    location = str(tmp_path / "checkpoints")
    train_small_mlp(breast_cancer_splits, tmp_path / "a", checkpoint_uri=location)
    capsys.readouterr()
    metadata = train_pytorch_to_directory(
        breast_cancer_splits["train"],
        breast_cancer_splits["validation"],
        str(tmp_path / "b"),
        "target",
        small_mlp(seed=7),
        checkpoint_uri=location,
    )
    assert metadata["resumed_from_epoch"] == 0
    assert "starting at epoch 1" in capsys.readouterr().out


@pytest.mark.slow
def test_a_killed_training_resumes_from_its_last_checkpoint_and_ends_the_same(
    breast_cancer_splits, tmp_path, capsys
):
    settings = small_mlp(max_epochs=120, patience=120, checkpoint_every=1)
    reference = train_pytorch_to_directory(
        breast_cancer_splits["train"],
        breast_cancer_splits["validation"],
        str(tmp_path / "reference"),
        "target",
        settings,
    )
    model_dir = tmp_path / "model"
    job = TrainingJob(
        breast_cancer_splits["train"],
        breast_cancer_splits["validation"],
        str(model_dir),
        "target",
        settings,
    )
    (tmp_path / "job.json").write_text(job.to_json())
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kfp_mlops.components.training.torch_train",
            "--job",
            str(tmp_path / "job.json"),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list(model_dir.glob("checkpoints/*/epoch-*.pt")):
        assert worker.poll() is None, "the training ended before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.01)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert not (model_dir / "kfp_mlops_model.json").exists()  # no half-written Model
    capsys.readouterr()

    resumed = train_pytorch_to_directory(
        job.train_path, job.validation_path, str(model_dir), "target", settings
    )

    log = capsys.readouterr().out
    done = resumed["resumed_from_epoch"]
    assert 1 <= done < 120
    assert f"epochs 1-{done} done, continuing at epoch {done + 1}" in log
    assert resumed["validation_accuracy"] == reference["validation_accuracy"]
    assert resumed["best_epoch"] == reference["best_epoch"]
    for name, value in load_state_dict(tmp_path / "reference").items():
        assert torch.equal(value, load_state_dict(model_dir)[name]), name


@pytest.mark.slow
def test_two_processes_train_data_parallel_under_torchrun(breast_cancer_splits, tmp_path, capsys):
    metadata = train_pytorch_to_directory(
        breast_cancer_splits["train"],
        breast_cancer_splits["validation"],
        str(tmp_path / "model"),
        "target",
        small_mlp(max_epochs=4),
        processes=2,
    )
    assert metadata["processes"] == 2
    assert metadata["validation_accuracy"] >= 0.85
    assert (tmp_path / "model" / "model" / "1" / "model.onnx").is_file()


@pytest.mark.slow
def test_an_input_error_in_a_torchrun_process_is_raised_with_its_message(
    breast_cancer_splits, tmp_path
):
    with pytest.raises(ComponentInputError, match=r"unknown hyperparameter.*'width'"):
        train_pytorch_to_directory(
            breast_cancer_splits["train"],
            breast_cancer_splits["validation"],
            str(tmp_path / "model"),
            "target",
            small_mlp(hyperparameters={"width": 3}),
            processes=2,
        )
    assert not (tmp_path / "model").exists()


def test_bf16_autocast_trains_and_exports_float32(breast_cancer_splits, tmp_path):
    metadata = train_small_mlp(
        breast_cancer_splits, tmp_path / "model", mixed_precision="bf16", max_epochs=3
    )
    assert metadata["precision"] == "bf16"
    assert metadata["validation_accuracy"] >= 0.85
    manifest = json.loads((tmp_path / "model" / "kfp_mlops_model.json").read_text())
    assert manifest["input"] == {"name": "features", "datatype": "FP32", "shape": [-1, 30]}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_epochs": 0}, "max_epochs is 0; it must be an integer >= 1"),
        ({"batch_size": 2.5}, "batch_size is 2.5"),
        ({"learning_rate": 0.0}, "learning_rate is 0.0; it must be a positive number"),
        ({"weight_decay": -1.0}, "weight_decay is -1.0"),
        ({"mixed_precision": "fp8"}, "mixed_precision is 'fp8'; choose one of auto, bf16"),
    ],
)
def test_bad_settings_fail_before_reading_data(changes, message, tmp_path):
    with pytest.raises(ComponentInputError, match=message):
        train_pytorch_to_directory(
            str(tmp_path / "absent.parquet"),
            str(tmp_path / "absent.parquet"),
            str(tmp_path / "model"),
            "target",
            TrainingSettings(**changes),
        )


def test_a_diverging_training_says_so(breast_cancer_splits, tmp_path):
    with pytest.raises(ComponentInputError, match=r"training diverged.*lower learning_rate"):
        train_small_mlp(breast_cancer_splits, tmp_path / "model", learning_rate=1e30, max_epochs=2)
    assert not Path(tmp_path / "model" / "kfp_mlops_model.json").exists()

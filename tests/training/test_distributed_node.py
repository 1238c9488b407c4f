"""Multi-node DDP for real: two node processes started as Kubeflow Trainer starts them (PET_*)."""

import json
import time
from pathlib import Path

import pytest
from support.torch_training import digits_splits
from support.trainer_nodes import kill, start_nodes

from kfp_mlops.components.common.torch_artifact import MANIFEST_FILE
from kfp_mlops.components.training.distributed_node import node_arguments
from kfp_mlops.components.training.torch_train import TrainingJob, TrainingSettings
from kfp_mlops.components.training.trainjob import TrainJobRequest, build_trainjob

CNN = TrainingSettings(
    architecture="cnn",
    max_epochs=30,
    patience=30,
    batch_size=64,
    learning_rate=0.002,
    checkpoint_every=2,
)


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return digits_splits(tmp_path_factory.mktemp("digits"))


@pytest.fixture
def launch():
    """start_nodes, with every node still running at the end of the test killed."""
    started: list = []

    def start(trainjob: dict, folder: Path) -> list:
        nodes = start_nodes(trainjob, folder)
        started.extend(nodes)
        return nodes

    yield start
    for node in started:
        kill(node)


def shared_job(digits: dict[str, str], shared: Path, settings: TrainingSettings) -> dict:
    """The TrainJob of a digits CNN training whose model and checkpoints go to ``shared``."""
    job = TrainingJob(
        digits["train"],
        digits["validation"],
        str(shared / "model"),
        "target",
        settings,
        str(shared / "checkpoints"),
    )
    request = TrainJobRequest(
        name="digits",
        namespace="models",
        image="unused-here",
        node_args=tuple(node_arguments(job, str(shared / "result.json"))),
        nodes=2,
    )
    return build_trainjob(request)


def wait(nodes: list, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    for node in nodes:
        node.wait(timeout=max(1.0, deadline - time.monotonic()))
    return [node.returncode for node in nodes]


def log(folder: Path, rank: int) -> str:
    return (folder / f"node-{rank}.log").read_text(encoding="utf-8", errors="replace")


@pytest.mark.slow
def test_two_nodes_train_the_digits_cnn_to_the_accuracy_floor(digits, tmp_path, launch):
    trainjob = shared_job(digits, tmp_path / "shared", CNN)

    codes = wait(launch(trainjob, tmp_path / "logs"), timeout=600)

    assert codes == [0, 0], log(tmp_path / "logs", 0)[-3000:]
    result = json.loads((tmp_path / "shared" / "result.json").read_text())
    metadata = result["metadata"]
    assert metadata["processes"] == 2
    assert metadata["validation_accuracy"] >= 0.95
    manifest = json.loads((tmp_path / "shared" / "model" / MANIFEST_FILE).read_text())
    assert manifest["architecture"] == "cnn"
    epochs = [line for line in log(tmp_path / "logs", 0).splitlines() if line.startswith("epoch ")]
    assert len(epochs) == metadata["epochs_trained"]  # one line per epoch, from rank 0 only
    assert "epoch " not in log(tmp_path / "logs", 1)


@pytest.mark.slow
def test_a_killed_node_fails_the_job_and_a_restart_resumes_from_the_checkpoint(
    digits, tmp_path, launch
):
    shared = tmp_path / "shared"
    trainjob = shared_job(digits, shared, CNN)
    nodes = launch(trainjob, tmp_path / "first")
    deadline = time.monotonic() + 300
    while not list(shared.glob("checkpoints/*/epoch-*.pt")):
        assert all(node.poll() is None for node in nodes), log(tmp_path / "first", 0)[-3000:]
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.05)
    kill(nodes[1])
    assert wait(nodes[:1], timeout=60)[0] != 0  # node 0 loses its peer and fails
    assert not (shared / "result.json").exists()
    assert not (shared / "model").exists()

    codes = wait(launch(trainjob, tmp_path / "second"), timeout=600)

    assert codes == [0, 0], log(tmp_path / "second", 0)[-3000:]
    metadata = json.loads((shared / "result.json").read_text())["metadata"]
    done = metadata["resumed_from_epoch"]
    assert done >= 2
    assert f"epochs 1-{done} done, continuing at epoch {done + 1}" in log(tmp_path / "second", 0)
    assert metadata["validation_accuracy"] >= 0.95


@pytest.mark.slow
def test_a_bad_input_fails_every_node_and_is_written_to_the_result(digits, tmp_path, launch):
    job = TrainingJob(
        digits["train"], digits["validation"], str(tmp_path / "model"), "no_such_column", CNN
    )
    request = TrainJobRequest(
        name="bad",
        namespace="models",
        image="unused-here",
        node_args=tuple(node_arguments(job, str(tmp_path / "result.json"))),
        nodes=2,
    )

    codes = wait(launch(build_trainjob(request), tmp_path / "logs"), timeout=300)

    assert codes[0] != 0 and codes[1] != 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert "target column 'no_such_column' not found" in result["error"]
    assert not (tmp_path / "model").exists()

"""The distributed step against the fake Kubernetes API: its nodes really train on this machine."""

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from support.torch_training import digits_splits, small_mlp
from training.fake_trainer_api import ALL_PERMISSIONS, FakeTrainerApi

from kfp_mlops.components.common.errors import ComponentInputError, ExternalSystemError
from kfp_mlops.components.common.kube_api import connect
from kfp_mlops.components.common.torch_artifact import MANIFEST_FILE
from kfp_mlops.components.training.trainjob import TrainJobRequest, build_trainjob
from kfp_mlops.components.training.trainjob_api import TrainJobs
from kfp_mlops.components.training.trainjob_run import Cluster, train_distributed_to_directory


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return digits_splits(tmp_path_factory.mktemp("digits"))


RBAC = Path(__file__).resolve().parents[2] / "manifests" / "rbac-trainjob.yaml"


def granted() -> set[tuple[str, str]]:
    """The (verb, resource) pairs manifests/rbac-trainjob.yaml grants."""
    (role,) = [item for item in yaml.safe_load_all(RBAC.read_text()) if item["kind"] == "Role"]
    return {
        (verb, resource)
        for rule in role["rules"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


@pytest.fixture
def fake(tmp_path: Path):
    with FakeTrainerApi(tmp_path / "pods").running() as api:
        api.allowed = granted()  # every test runs with exactly what the manifest grants
        yield api


def test_the_rbac_manifest_grants_what_the_issue_lists_and_nothing_more():
    assert granted() == ALL_PERMISSIONS


def trainjobs(fake: FakeTrainerApi, tmp_path: Path) -> TrainJobs:
    cluster = connect(str(fake.kubeconfig(tmp_path / "kubeconfig")))
    return TrainJobs(cluster, cluster.default_namespace)


def train(fake, tmp_path, digits, target="target", **cluster) -> tuple[dict, list[str]]:
    lines: list[str] = []
    metadata = train_distributed_to_directory(
        digits["train"],
        digits["validation"],
        str(tmp_path / "model"),
        target,
        small_mlp(max_epochs=4),
        Cluster(
            **{"shared": str(tmp_path / "shared"), "image": "img", "poll_seconds": 1.0, **cluster}
        ),
        trainjobs(fake, tmp_path),
        echo=lines.append,
    )
    return metadata, lines


@pytest.mark.slow
def test_two_nodes_train_and_the_step_gets_train_pytorchs_model(fake, tmp_path, digits):
    fake.expire_next_watches = 1  # the watch survives a compacted resourceVersion

    metadata, lines = train(fake, tmp_path, digits)

    assert metadata["processes"] == 2 and metadata["nodes"] == 2
    assert metadata["trainjob"].startswith("models/kfp-mlops-train-")
    manifest = json.loads((tmp_path / "model" / MANIFEST_FILE).read_text())
    assert manifest["feature_columns"] == metadata["feature_columns"]
    assert (tmp_path / "model" / "model" / "1" / "model.onnx").is_file()
    epochs = [line for line in lines if "] epoch " in line]
    assert [line.split("] ")[0] for line in epochs] == ["[node 0"] * 4  # one line per epoch
    assert lines[-1].endswith("completed")
    assert not (tmp_path / "shared" / "runs").exists() or not any(
        (tmp_path / "shared" / "runs").iterdir()
    )


@pytest.mark.slow
def test_a_failed_trainjob_fails_the_step_with_its_reason_and_the_nodes_error(
    fake, tmp_path, digits
):
    with pytest.raises(ComponentInputError) as raised:
        train(fake, tmp_path, digits, target="no_such_column")

    message = str(raised.value)
    assert message.startswith("target column 'no_such_column' not found")
    assert "failed: FailedJobs" in message
    assert re.search(
        r"; node [01] \(pod [-a-z0-9]+\) exited with code [1-9]\d*; its last lines: ", message
    )
    assert not (tmp_path / "model").exists()


def test_a_missing_permission_names_it_and_the_manifest(fake, tmp_path, digits):
    fake.allowed.discard(("create", "trainjobs"))

    with pytest.raises(ExternalSystemError) as raised:
        train(fake, tmp_path, digits)

    assert str(raised.value).startswith(
        "missing permission: create trainjobs.trainer.kubeflow.org in namespace 'models' (403"
    )
    assert "kubectl apply -n models -f manifests/rbac-trainjob.yaml" in str(raised.value)


def test_a_missing_pod_log_permission_names_it(fake, tmp_path, digits):
    fake.start_nodes = False
    fake.allowed.discard(("list", "pods"))

    with pytest.raises(ExternalSystemError, match="missing permission: list pods in namespace"):
        train(fake, tmp_path, digits)


def test_an_api_failing_while_following_leaves_no_trainjob_running(fake, tmp_path, digits):
    """The step fails and removes its shared run folder: its TrainJob must not go on training."""
    fake.start_nodes = False
    fake.allowed.discard(("list", "pods"))  # refused from the first log relay on

    with pytest.raises(ExternalSystemError) as raised:
        train(fake, tmp_path, digits)

    assert re.search(
        r"; TrainJob models/kfp-mlops-train-[0-9a-f]{12} was deleted$", str(raised.value)
    )
    assert fake.names("models") == []


def test_a_trainjob_that_does_not_finish_in_time_is_deleted(fake, tmp_path, digits):
    fake.start_nodes = False  # pods stay Pending

    with pytest.raises(ComponentInputError, match=r"did not finish within 2 s; it was deleted"):
        train(fake, tmp_path, digits, timeout_seconds=2)

    assert len(fake.deleted) == 1
    assert fake.names("models") == []


def test_a_cancelled_step_deletes_its_trainjob(fake, tmp_path, digits):
    fake.start_nodes = False
    script = f"""
import sys
from kfp_mlops.components.common.kube_api import connect
from kfp_mlops.components.training.trainjob import TrainJobRequest, build_trainjob
from kfp_mlops.components.training.trainjob_api import TrainJobs
from kfp_mlops.components.training.trainjob_run import Cluster, train_distributed_to_directory
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from support.torch_training import small_mlp
cluster = connect({str(fake.kubeconfig(tmp_path / "kubeconfig"))!r})
train_distributed_to_directory(
    {digits["train"]!r}, {digits["validation"]!r}, {str(tmp_path / "model")!r}, "target",
    small_mlp(), Cluster(shared={str(tmp_path / "shared")!r}, image="img", poll_seconds=0.5),
    TrainJobs(cluster, "models"),
)
"""
    step = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not fake.names("models"):
            assert step.poll() is None, step.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        step.send_signal(signal.SIGTERM)
        step.wait(timeout=30)
    finally:
        step.kill()

    assert step.returncode != 0
    assert "StepCancelled: the step was cancelled (SIGTERM)" in step.stderr.read()
    assert len(fake.deleted) == 1 and fake.names("models") == []
    assert not (tmp_path / "model").exists()


def test_a_create_that_landed_before_its_retry_is_the_trainjob_itself(fake, tmp_path):
    fake.start_nodes = False
    jobs = trainjobs(fake, tmp_path)
    body = build_trainjob(TrainJobRequest("retried", "models", "img", ("--job", "{}")))
    first = jobs.create(body)

    again = jobs.create(body)  # what a create retried after a broken connection meets: 409

    assert again["metadata"]["uid"] == first["metadata"]["uid"]
    assert fake.names("models") == ["retried"]

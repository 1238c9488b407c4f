"""The TrainJob manifest: every option validates against Kubeflow Trainer's CRD schema."""

import copy

import pytest
import yaml
from training import trainer_crd

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.training.trainjob import (
    DEFAULT_RUNTIME,
    NODE_JOB,
    NODE_MODULE,
    NodeResources,
    SharedVolume,
    TrainJobRequest,
    build_trainjob,
)

GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def request(**changes: object) -> TrainJobRequest:
    values: dict = {
        "name": "kfp-mlops-train-0123456789ab",
        "namespace": "models",
        "image": "ghcr.io/kfp-mlops/kfp-mlops-gpu:0.1.0",
        "node_args": ("--job", "{}", "--result", "s3://bucket/result.json"),
    }
    values.update(changes)
    return TrainJobRequest(**values)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"nodes": 4, "processes_per_node": 8, "resources": NodeResources(gpus=8)},
        {"resources": NodeResources(cpu="4", memory="16Gi")},
        {
            "resources": NodeResources(gpus=1, gpu_resource="amd.com/gpu"),
            "node_selector": {"cloud.google.com/gke-accelerator": "nvidia-l4"},
            "tolerations": (GPU_TOLERATION,),
        },
        {"volume": SharedVolume("training-data", "/mnt/shared")},
        {"runtime": "torch-distributed-gpu", "labels": {"team": "vision"}},
    ],
    ids=["defaults", "gpus", "cpu-memory", "placement", "pvc", "runtime-labels"],
)
def test_every_option_validates_against_the_crd(changes):
    trainjob = build_trainjob(request(**changes))

    assert trainer_crd.errors(trainjob) == []
    assert trainjob["apiVersion"] == "trainer.kubeflow.org/v1alpha1"
    assert trainjob["kind"] == "TrainJob"


def test_nodes_processes_gpus_and_placement_are_where_the_trainer_reads_them():
    trainjob = build_trainjob(
        request(
            nodes=3,
            processes_per_node=2,
            resources=NodeResources(gpus=2, cpu="8"),
            node_selector={"cloud.google.com/gke-accelerator": "nvidia-l4"},
            tolerations=(GPU_TOLERATION,),
            volume=SharedVolume("training-data", "/mnt/shared"),
        )
    )

    trainer = trainjob["spec"]["trainer"]
    assert trainer["numNodes"] == 3 and trainer["numProcPerNode"] == 2
    assert trainer["resourcesPerNode"]["limits"] == {"cpu": "8", "nvidia.com/gpu": "2"}
    assert trainer["command"] == ["python3", "-m", "torch.distributed.run", "-m", NODE_MODULE]
    assert trainjob["spec"]["runtimeRef"]["name"] == "torch-distributed"
    (patch,) = trainjob["spec"]["runtimePatches"]
    (job,) = patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    assert job["name"] == "node"
    pod = job["template"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert pod["tolerations"] == [GPU_TOLERATION]
    assert pod["volumes"][0]["persistentVolumeClaim"] == {"claimName": "training-data"}
    assert pod["containers"][0]["volumeMounts"][0]["mountPath"] == "/mnt/shared"


def test_the_schema_check_rejects_what_the_api_server_would():
    trainjob = build_trainjob(request())
    broken = copy.deepcopy(trainjob)
    broken["spec"]["trainer"]["numNodes"] = "two"
    broken["spec"]["trainer"]["numProcs"] = 1

    problems = trainer_crd.errors(broken)

    assert any("numNodes" in item for item in problems)
    assert any("numProcs" in item for item in problems)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"nodes": 0}, "nodes is 0"),
        ({"processes_per_node": 0}, "processes_per_node is 0"),
        ({"name": "Bad_Name"}, "TrainJob name 'Bad_Name'"),
        ({"resources": NodeResources(gpus=-1)}, "gpus_per_node is -1"),
        (
            {"processes_per_node": 4, "resources": NodeResources(gpus=2)},
            "processes_per_node is 4 but each node has 2 GPU(s)",
        ),
        ({"runtime": ""}, "runtime is empty"),
    ],
)
def test_bad_values_are_refused_with_the_value(changes, message):
    with pytest.raises(ComponentInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_trainjob(request(**changes))


def test_the_default_runtime_has_the_node_job_and_container_the_patches_name():
    runtime = yaml.safe_load((trainer_crd.TRAINER_DATA / "torch_distributed.yaml").read_text())

    assert runtime["metadata"]["name"] == DEFAULT_RUNTIME
    assert "torch" in runtime["spec"]["mlPolicy"]  # the torch plugin sets the PET_* variables
    (job,) = runtime["spec"]["template"]["spec"]["replicatedJobs"]
    assert job["name"] == NODE_JOB
    (container,) = job["template"]["spec"]["template"]["spec"]["containers"]
    assert container["name"] == NODE_JOB


@pytest.mark.parametrize(("nodes", "longest"), [(1, 48), (10, 48), (11, 47), (100, 47), (101, 46)])
def test_the_name_is_refused_where_jobset_would_refuse_its_pod_names(nodes, longest):
    """JobSet refuses a pod name ``NAME-node-0-<nodes - 1>-xxxxx`` over 63 characters."""
    fits = "t" * longest
    assert len(f"{fits}-node-0-{nodes - 1}-abcde") == 63
    build_trainjob(request(name=fits, nodes=nodes))
    with pytest.raises(ComponentInputError, match=f"at most {longest} characters"):
        build_trainjob(request(name=fits + "t", nodes=nodes))

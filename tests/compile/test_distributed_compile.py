"""`kfp-mlops compile --gpu PROFILE --nodes N`: GPU training on N nodes, as a TrainJob on Kubeflow
Pipelines and as a CustomJob of N replicas on Vertex AI."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from google.protobuf import json_format
from support.kfp_specs import all_tasks, load_specs

from kfp_mlops.compile.compiler import compile_all
from kfp_mlops.pipelines import placement
from kfp_mlops.pipelines.hardware import PROFILES

CLI = str(Path(sys.executable).parent / "kfp-mlops")
L4 = PROFILES["nvidia-l4"]
GPU_PIPELINES = ("image-classification", "tabular-classification")


@pytest.fixture(scope="module")
def nodes_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("nodes")
    compile_all(out, options=placement.BuildOptions(gpu=L4, nodes=3))
    return out


def constant(task: object, name: str) -> object:
    return json_format.MessageToDict(task.inputs.parameters[name].runtime_value)["constant"]


@pytest.mark.parametrize("name", GPU_PIPELINES)
def test_the_training_step_is_a_trainjob_on_the_profiles_nodes(nodes_dir, name):
    spec, platform = load_specs(nodes_dir / "pipelines" / f"{name}.yaml")

    found = all_tasks(spec)
    assert "train-pytorch" not in found
    _, task = found["train-pytorch-distributed"]
    assert constant(task, "nodes") == 3
    assert constant(task, "gpus_per_node") == L4.accelerator_count
    assert constant(task, "processes_per_node") == L4.accelerator_count
    assert constant(task, "gpu_resource") == L4.accelerator_type
    assert constant(task, "node_selector") == dict(L4.node_selector)
    assert constant(task, "tolerations") == L4.tolerations_json()
    for parameter in ("shared_storage", "shared_volume_claim"):
        assert task.inputs.parameters[parameter].component_input_parameter == parameter
        assert parameter in spec.root.input_definitions.parameters
    label = spec.components[task.component_ref.name].executor_label
    executors = json_format.MessageToDict(spec.deployment_spec)["executors"]
    assert "resources" not in executors[label]["container"]  # the step only follows the TrainJob
    if platform is not None:  # no kfp-kubernetes placement on the step: it needs no GPU
        kubernetes = json_format.MessageToDict(platform)["platforms"]["kubernetes"]
        placement = kubernetes["deploymentSpec"]["executors"].get(label, {})
        # Only the optional credential secrets every step gets (pipelines/credentials.py).
        assert set(placement) <= {"secretAsEnv", "activeDeadlineSeconds"}  # and its time limit


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--nodes", "2"], "training on several nodes needs a GPU profile"),
        (["--gpu", "nvidia-l4", "--nodes", "0"], "nodes is 0"),
        (
            ["--gpu", "nvidia-l4", "--nodes", "2", "--gpu-parameters"],
            "GPU placement parameters are not available with several nodes",
        ),
    ],
)
def test_impossible_node_requests_are_refused(tmp_path, arguments, message):
    done = subprocess.run(
        [CLI, "compile", "--out", str(tmp_path), *arguments], capture_output=True, text=True
    )

    assert done.returncode != 0
    assert message in done.stderr
    assert not (tmp_path / "pipelines").exists()


def test_one_node_compiles_as_before(tmp_path):
    compile_all(tmp_path, options=placement.BuildOptions(gpu=L4, nodes=1))

    spec, _ = load_specs(tmp_path / "pipelines" / "image-classification.yaml")
    assert "train-pytorch" in all_tasks(spec)


@pytest.fixture(scope="module")
def vertex_nodes_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vertex-nodes")
    arguments = ["--gpu", "nvidia-l4", "--nodes", "3", "--target", "vertex"]
    done = subprocess.run(
        [CLI, "compile", "--out", str(out), *arguments],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return out


def worker_pools(document: dict) -> list[dict]:
    component = document["components"]["comp-train-pytorch-custom-job"]
    return component["inputDefinitions"]["parameters"]["worker_pool_specs"]["defaultValue"]


@pytest.mark.parametrize("name", GPU_PIPELINES)
def test_vertex_trains_on_a_custom_job_of_n_replicas_in_one_document(vertex_nodes_dir, name):
    path = vertex_nodes_dir / "pipelines" / f"{name}.yaml"
    (document,) = yaml.safe_load_all(path.read_text())  # one document, as aiplatform reads it
    spec, platform = load_specs(path)

    assert platform is None
    found = all_tasks(spec)
    assert "train-pytorch-custom-job" in found
    assert "train-pytorch-distributed" not in found and "train-pytorch" not in found
    primary, workers = worker_pools(document)  # Vertex: pool 0 the primary, pool 1 the workers
    assert primary["replica_count"] == 1 and workers["replica_count"] == 2
    for pool in (primary, workers):
        assert pool["machine_spec"] == {
            "machine_type": L4.vertex_machine_type,
            "accelerator_type": L4.vertex_accelerator_type,
            "accelerator_count": L4.accelerator_count,
        }
        assert "train_pytorch" in pool["container_spec"]["args"]  # the same component everywhere
    assert "shared_storage" not in spec.root.input_definitions.parameters  # /gcs is shared


@pytest.mark.parametrize("name", GPU_PIPELINES)
def test_aiplatform_loads_the_multi_replica_vertex_yaml(vertex_nodes_dir, name):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    aiplatform.init(
        project="dummy-project", location="us-central1", credentials=AnonymousCredentials()
    )
    job = aiplatform.PipelineJob(
        display_name=name,
        template_path=str(vertex_nodes_dir / "pipelines" / f"{name}.yaml"),
        pipeline_root="gs://dummy-bucket/root",
        parameter_values={"data_uri": "gs://dummy-bucket/data.csv", "target_column": "target"},
        enable_caching=False,
    )
    loaded = job.to_dict()["pipelineSpec"]
    assert [pool["replica_count"] for pool in worker_pools(loaded)] == [1, 2]

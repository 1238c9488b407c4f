"""GPU placement in compiled YAML: fixed from a profile, run-time parameters, and Vertex AI."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kfp_mlops.compile.compiler import compile_all
from kfp_mlops.components import images
from kfp_mlops.pipelines import PIPELINES, placement
from kfp_mlops.pipelines.hardware import PROFILES

CLI = str(Path(sys.executable).parent / "kfp-mlops")
L4 = PROFILES["nvidia-l4"]
GPU_PIPELINES = ("image-classification", "tabular-classification", "tabular-regression")


@pytest.fixture(scope="module")
def fixed_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gpu")
    compile_all(out, options=placement.BuildOptions(gpu=L4))
    return out


@pytest.fixture(scope="module")
def runtime_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gpu-parameters")
    compile_all(out, options=placement.BuildOptions(gpu=L4, gpu_parameters=True))
    return out


@pytest.fixture(scope="module")
def vertex_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vertex")
    settings = images.ImageSettings(registry="europe-docker.pkg.dev/p/r", tag="1.2.3")
    compile_all(out, settings, placement.BuildOptions(gpu=L4, target="vertex"))
    return out


def documents(path: Path) -> tuple[dict, dict | None]:
    """The pipeline spec and (when there is one) the platform spec of a compiled file, as dicts."""
    found = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    assert 1 <= len(found) <= 2
    return found[0], (found[1] if len(found) == 2 else None)


def tasks(spec: dict) -> dict[str, dict]:
    """Every task by name, nested ones included."""
    found: dict[str, dict] = {}

    def walk(dag: dict) -> None:
        for name, task in dag["tasks"].items():
            found[name] = task
            component = spec["components"][task["componentRef"]["name"]]
            if "dag" in component:
                walk(component["dag"])

    walk(spec["root"]["dag"])
    return found


def executor(spec: dict, task_name: str) -> tuple[str, dict]:
    """The executor label and executor of a task."""
    task = tasks(spec)[task_name]
    label = spec["components"][task["componentRef"]["name"]]["executorLabel"]
    return label, spec["deploymentSpec"]["executors"][label]


def kubernetes_executors(platform: dict) -> dict:
    return platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]


@pytest.mark.parametrize("name", GPU_PIPELINES)
def test_a_profile_puts_accelerator_node_selector_and_tolerations_on_training(fixed_dir, name):
    spec, platform = documents(fixed_dir / "pipelines" / f"{name}.yaml")
    label, found = executor(spec, "train-pytorch")
    accelerator = found["container"]["resources"]["accelerator"]
    assert accelerator["resourceType"] == "nvidia.com/gpu"
    assert accelerator["resourceCount"] == "1"
    assert found["container"]["image"] == images.GPU_IMAGE
    kubernetes = kubernetes_executors(platform)
    assert kubernetes[label]["nodeSelector"]["labels"] == {
        "cloud.google.com/gke-accelerator": "nvidia-l4"
    }
    assert kubernetes[label]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    executors = spec["deploymentSpec"]["executors"]
    others = [other for other in executors if other != label]
    assert all("resources" not in executors[other]["container"] for other in others)
    placed = {key for key, value in kubernetes.items() if "nodeSelector" in value}
    assert placed == {key for key, value in kubernetes.items() if "tolerations" in value} == {label}


def test_tabular_trains_the_mlp_with_its_parameters_on_a_gpu_build(fixed_dir):
    spec, _ = documents(fixed_dir / "pipelines" / "tabular-classification.yaml")
    found = tasks(spec)
    assert "train-sklearn" not in found
    parameters = found["train-pytorch"]["inputs"]["parameters"]
    assert parameters["architecture"]["runtimeValue"]["constant"] == "mlp"
    assert parameters["hyperparameters"]["componentInputParameter"] == "mlp_hyperparameters"
    inputs = spec["root"]["inputDefinitions"]["parameters"]
    assert {"mlp_hyperparameters", "mlp_max_epochs", "checkpoint_uri"} <= set(inputs)
    assert "With a GPU profile" in inputs["mlp_max_epochs"]["description"]


def test_regression_trains_the_mlp_as_a_regressor_on_a_gpu_build(fixed_dir):
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    spec, _ = documents(fixed_dir / "pipelines" / "tabular-regression.yaml")
    json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())  # a valid PipelineSpec
    found = tasks(spec)
    assert "train-sklearn-regressor" not in found and "train-sklearn" not in found
    parameters = found["train-pytorch"]["inputs"]["parameters"]
    assert parameters["task"]["runtimeValue"]["constant"] == "regression"
    assert parameters["max_epochs"]["componentInputParameter"] == "mlp_max_epochs"
    evaluate = found["evaluate-regressor"]["inputs"]["artifacts"]["model"]["taskOutputArtifact"]
    assert evaluate == {"outputArtifactKey": "model", "producerTask": "train-pytorch"}
    inputs = spec["root"]["inputDefinitions"]["parameters"]
    assert {"mlp_hyperparameters", "mlp_max_epochs", "checkpoint_uri"} <= set(inputs)


@pytest.mark.parametrize("name", GPU_PIPELINES)
def test_run_time_parameters_choose_the_placement(runtime_dir, name):
    spec, platform = documents(runtime_dir / "pipelines" / f"{name}.yaml")
    inputs = spec["root"]["inputDefinitions"]["parameters"]
    assert inputs["gpu_accelerator_type"]["defaultValue"] == "nvidia.com/gpu"
    assert inputs["gpu_accelerator_count"]["defaultValue"] == 1
    assert inputs["gpu_node_selector"]["defaultValue"] == {
        "cloud.google.com/gke-accelerator": "nvidia-l4"
    }
    assert inputs["gpu_tolerations"]["defaultValue"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    label, found = executor(spec, "train-pytorch")
    accelerator = found["container"]["resources"]["accelerator"]
    assert accelerator["resourceType"] == (
        "{{$.inputs.parameters['pipelinechannel--gpu_accelerator_type']}}"
    )
    assert accelerator["resourceCount"] == (
        "{{$.inputs.parameters['pipelinechannel--gpu_accelerator_count']}}"
    )
    task = tasks(spec)["train-pytorch"]
    wired = task["inputs"]["parameters"]["pipelinechannel--gpu_accelerator_count"]
    assert wired["componentInputParameter"] == "gpu_accelerator_count"
    kubernetes = kubernetes_executors(platform)[label]
    assert kubernetes["nodeSelector"]["nodeSelectorJson"]["componentInputParameter"] == (
        "gpu_node_selector"
    )
    assert kubernetes["tolerations"][0]["tolerationJson"]["componentInputParameter"] == (
        "gpu_tolerations"
    )


def test_pipelines_without_gpu_steps_gain_no_parameters(runtime_dir):
    for name in set(PIPELINES) - set(GPU_PIPELINES):
        spec, _ = documents(runtime_dir / "pipelines" / f"{name}.yaml")
        assert not any(p.startswith("gpu_") for p in spec["root"]["inputDefinitions"]["parameters"])


def test_the_default_build_is_the_pipeline_itself():
    for pipeline in PIPELINES.values():
        assert placement.build(pipeline, placement.BuildOptions()) is pipeline


@pytest.mark.parametrize("name", GPU_PIPELINES)
def test_vertex_runs_training_as_a_custom_job_in_one_document(vertex_dir, name):
    text = (vertex_dir / "pipelines" / f"{name}.yaml").read_text()
    (document,) = yaml.safe_load_all(text)
    assert "platforms" not in document
    found = tasks(document)
    assert "train-pytorch-custom-job" in found and "train-pytorch" not in found
    component = document["components"]["comp-train-pytorch-custom-job"]
    (pool,) = component["inputDefinitions"]["parameters"]["worker_pool_specs"]["defaultValue"]
    assert pool["machine_spec"] == {
        "machine_type": "g2-standard-8",
        "accelerator_type": "NVIDIA_L4",
        "accelerator_count": 1.0,
    }
    assert pool["container_spec"]["image_uri"] == ("europe-docker.pkg.dev/p/r/kfp-mlops-gpu:1.2.3")
    # everything else is unchanged
    assert "evaluate-classifier" in found or "evaluate-regressor" in found


@pytest.mark.parametrize("name", GPU_PIPELINES)
def test_aiplatform_accepts_the_vertex_yaml_offline(vertex_dir, name):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    aiplatform.init(
        project="dummy-project", location="us-central1", credentials=AnonymousCredentials()
    )
    job = aiplatform.PipelineJob(
        display_name=name,
        template_path=str(vertex_dir / "pipelines" / f"{name}.yaml"),
        pipeline_root="gs://dummy-bucket/root",
        parameter_values={"data_uri": "gs://dummy-bucket/data.csv", "target_column": "target"},
        enable_caching=False,
    )
    spec = job.to_dict()["pipelineSpec"]
    assert "comp-train-pytorch-custom-job" in spec["components"]
    values = job.to_dict()["runtimeConfig"]["parameterValues"]
    assert values["data_uri"] == "gs://dummy-bucket/data.csv"


def test_aiplatform_refuses_the_two_document_kubeflow_yaml(fixed_dir):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    aiplatform.init(
        project="dummy-project", location="us-central1", credentials=AnonymousCredentials()
    )
    with pytest.raises(Exception, match="expected a single document"):  # yaml.ComposerError
        aiplatform.PipelineJob(
            display_name="x",
            template_path=str(fixed_dir / "pipelines" / "image-classification.yaml"),
            pipeline_root="gs://dummy-bucket/root",
        )


def test_compile_cli_options(tmp_path):
    profile = tmp_path / "pool.yaml"
    profile.write_text("node_selector: {pool: gpu}\naccelerator_count: 2\n")
    done = subprocess.run(
        [CLI, "compile", "--out", str(tmp_path / "out"), "--gpu", str(profile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    spec, platform = documents(tmp_path / "out" / "pipelines" / "image-classification.yaml")
    label, found = executor(spec, "train-pytorch")
    assert found["container"]["resources"]["accelerator"]["resourceCount"] == "2"
    kubernetes = kubernetes_executors(platform)[label]
    assert kubernetes["nodeSelector"]["labels"] == {"pool": "gpu"}

    refused = subprocess.run(
        [
            CLI,
            "compile",
            "--out",
            str(tmp_path / "x"),
            "--gpu",
            "nvidia-l4",
            "--gpu-parameters",
            "--target",
            "vertex",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert "fixed when the pipeline is compiled" in refused.stderr
    assert not (tmp_path / "x").exists()

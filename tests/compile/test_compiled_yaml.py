"""The compiled YAML is what KFP accepts, holds the gate, and is reproducible."""

import re
import subprocess
import sys
from pathlib import Path

from kfp import components
from support.kfp_specs import all_tasks, load_specs

from kfp_mlops.compile import catalog
from kfp_mlops.compile.compiler import compile_all
from kfp_mlops.components import images


def test_every_pipeline_and_component_is_compiled(compiled_dir: Path):
    assert sorted(p.stem for p in (compiled_dir / "pipelines").glob("*.yaml")) == sorted(
        catalog.pipelines()
    )
    assert sorted(p.stem for p in (compiled_dir / "components").glob("*.yaml")) == sorted(
        catalog.components()
    )


def test_pipelines_parse_into_pipeline_spec(compiled_dir: Path):
    for path in (compiled_dir / "pipelines").glob("*.yaml"):
        spec, _ = load_specs(path)
        assert spec.pipeline_info.name == path.stem
        assert spec.deployment_spec, f"{path.name} has no executors"


def test_components_load_with_kfp(compiled_dir: Path):
    for path in (compiled_dir / "components").glob("*.yaml"):
        component = components.load_component_from_file(str(path))
        assert component.name == path.stem.replace("_", "-")
        assert component.description, f"{path.name} has no description"
        on_gpu_image = path.stem in ("train_pytorch", "train_pytorch_distributed")
        expected = images.GPU_IMAGE if on_gpu_image else images.CPU_IMAGE
        assert component.component_spec.implementation.container.image == expected


def test_tabular_pipeline_gates_registration_and_serving_on_approval(compiled_dir: Path):
    spec, _ = load_specs(compiled_dir / "pipelines" / "tabular-classification.yaml")
    tasks = all_tasks(spec)
    approved_group, _ = tasks["register-model-with-card"]
    assert tasks["serve-check"][0] == approved_group
    rejected_group, _ = tasks["record-rejection"]
    assert rejected_group != approved_group
    channel = "pipelinechannel--champion-challenger-gate-approved"
    for group in (approved_group, rejected_group):
        # The If/Else pair sits in one branches group that receives the gate's output.
        branches = tasks[group][0]
        assert tasks[group][1].inputs.parameters[channel].component_input_parameter == channel
        source = tasks[branches][1].inputs.parameters[channel].task_output_parameter
        assert (source.producer_task, source.output_parameter_key) == (
            "champion-challenger-gate",
            "approved",
        )
    approved = tasks[approved_group][1].trigger_policy.condition
    rejected = tasks[rejected_group][1].trigger_policy.condition
    assert approved == f"inputs.parameter_values['{channel}'] == true"
    assert rejected == f"!({approved})"


def test_side_effect_steps_are_never_cached(compiled_dir: Path):
    spec, _ = load_specs(compiled_dir / "pipelines" / "tabular-classification.yaml")
    tasks = all_tasks(spec)
    for name in (
        "champion-challenger-gate",
        "register-model-with-card",
        "serve-check",
        "deploy-inference-service",
        "promote-champion",
    ):
        assert not tasks[name][1].caching_options.enable_cache, name


def test_compile_is_byte_identical_across_processes(compiled_dir: Path, tmp_path: Path):
    # Another process matters: protobuf maps may iterate in another order there.
    cli = Path(sys.executable).parent / "kfp-mlops"
    subprocess.run([str(cli), "compile", "--out", str(tmp_path)], check=True, capture_output=True)
    for path in compiled_dir.rglob("*.yaml"):
        again = tmp_path / path.relative_to(compiled_dir)
        assert again.read_bytes() == path.read_bytes(), path.name


def test_image_override_reaches_every_executor(tmp_path: Path):
    settings = images.ImageSettings(registry="registry.example.com/team", tag="7.1.0")
    compile_all(tmp_path, settings)
    for path in tmp_path.rglob("*.yaml"):
        named = re.findall(r"^\s+image: (\S+)$", path.read_text(), flags=re.M)
        assert named, path.name
        expected = {f"registry.example.com/team/{name}:7.1.0" for name in images.REPOSITORIES}
        assert set(named) <= expected, path.name

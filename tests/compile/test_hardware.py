"""Hardware profiles: the built-in ones, profiles from files, and the mistakes they refuse."""

import json

import pytest

from kfp_mlops.pipelines.hardware import (
    GPU_TAINT,
    PROFILES,
    HardwareProfile,
    Toleration,
    load_profile,
)


def test_builtin_profiles_are_named_by_their_key():
    assert {"nvidia-gpu", "nvidia-t4", "nvidia-l4", "nvidia-a100", "nvidia-a100x4"} <= set(PROFILES)
    for name, profile in PROFILES.items():
        assert profile.name == name and profile.description
        assert profile.accelerator_type == "nvidia.com/gpu"
        assert GPU_TAINT in profile.tolerations
    l4 = PROFILES["nvidia-l4"]
    assert l4.node_selector == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert (l4.vertex_machine_type, l4.vertex_accelerator_type) == ("g2-standard-8", "NVIDIA_L4")
    assert PROFILES["nvidia-a100x4"].accelerator_count == 4


def test_a_profile_file_in_yaml_or_json(tmp_path):
    (tmp_path / "team-gpu.yaml").write_text(
        "accelerator_count: 2\n"
        "node_selector: {pool: gpu, zone: a}\n"
        "tolerations:\n"
        "  - {key: dedicated, operator: Equal, value: ml, effect: NoSchedule}\n"
        "vertex_machine_type: a2-highgpu-2g\n"
        "vertex_accelerator_type: NVIDIA_TESLA_A100\n"
    )
    profile = load_profile(str(tmp_path / "team-gpu.yaml"))
    assert profile.name == "team-gpu" and profile.accelerator_count == 2
    assert profile.node_selector == {"pool": "gpu", "zone": "a"}
    assert profile.tolerations_json() == [
        {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}
    ]
    (tmp_path / "p.json").write_text(json.dumps({"name": "x", "accelerator_type": "amd.com/gpu"}))
    assert load_profile(str(tmp_path / "p.json")).accelerator_type == "amd.com/gpu"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gpus: 2\n", "unknown profile field.* gpus"),
        ("accelerator_count: 0\n", "accelerator_count 0 must be an integer >= 1"),
        ("accelerator_type: 'NVIDIA L4'\n", "is not a Kubernetes resource name"),
        ("tolerations: [{key: a, operator: Exists, value: b}]\n", "Exists takes no value"),
        ("tolerations: [{key: a, operator: Equal}]\n", "Equal needs a value"),
        ("tolerations: [{key: a, effect: Sometimes}]\n", "effect 'Sometimes' is not one of"),
        ("tolerations: [{key: a, colour: red}]\n", "unexpected keyword argument 'colour'"),
        ("[1, 2]\n", "must hold a mapping"),
    ],
)
def test_bad_profile_files_are_named(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_profile(str(path))


def test_an_unknown_profile_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"'nvidia-v100' is neither a known profile \(nvidia-gpu"):
        load_profile("nvidia-v100")


def test_profiles_are_values():
    profile = HardwareProfile("p", node_selector={"b": "2", "a": "1"}, tolerations=[GPU_TAINT])
    assert list(profile.node_selector) == ["a", "b"]
    assert profile.tolerations == (Toleration("nvidia.com/gpu", "Exists", None, "NoSchedule"),)

"""Hardware profiles: the accelerator a step gets and the nodes Kubernetes may schedule it on.

A :class:`HardwareProfile` is one small typed value: the accelerator's Kubernetes resource name and
count, a node selector, tolerations, and the Vertex AI machine and accelerator that stand for the
same hardware there. A pipeline applies it to a task with :func:`place` (fixed when the pipeline
is compiled) or :func:`place_from_parameters` (taken from pipeline parameters when a run starts)::

    from kfp_mlops.pipelines.hardware import PROFILES, place

    train = training.train_pytorch(...)
    place(train, PROFILES["nvidia-l4"])

:func:`place` calls the task's ``set_accelerator_type``/``set_accelerator_limit`` and
kfp-kubernetes ``add_node_selector``/``add_toleration``; :func:`place_from_parameters` calls the
same setters with pipeline channels and the ``*_json`` variants of the kfp-kubernetes ones. The node
selectors and tolerations become the compiled YAML's Kubernetes platform spec (its second YAML
document), which Kubeflow Pipelines reads and Vertex AI does not (google-cloud-aiplatform 1.165.1
``utils/yaml_utils.py`` loads the file with ``yaml.safe_load``: one document only).
"""

import dataclasses
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import yaml
from kfp import kubernetes
from kfp.dsl import pipeline_channel, pipeline_task

Operator = Literal["Equal", "Exists"]
Effect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
_OPERATORS = ("Equal", "Exists")
_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_RESOURCE = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$")


@dataclasses.dataclass(frozen=True)
class Toleration:
    """A Kubernetes toleration: lets a step run on nodes tainted with ``key``.

    Attributes:
        key: The taint key, e.g. ``nvidia.com/gpu``.
        operator: ``Exists`` (any value) or ``Equal`` (the taint's value must be ``value``).
        value: The taint value, only with ``Equal``.
        effect: The taint effect tolerated; None tolerates every effect.
    """

    key: str
    operator: Operator = "Exists"
    value: str | None = None
    effect: Effect | None = None

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("a toleration needs a key, e.g. 'nvidia.com/gpu'")
        if self.operator not in _OPERATORS:
            raise ValueError(
                f"toleration {self.key!r}: operator {self.operator!r} is not Equal or Exists"
            )
        if self.operator == "Exists" and self.value is not None:
            raise ValueError(
                f"toleration {self.key!r}: operator Exists takes no value (got {self.value!r})"
            )
        if self.operator == "Equal" and self.value is None:
            raise ValueError(f"toleration {self.key!r}: operator Equal needs a value")
        if self.effect is not None and self.effect not in _EFFECTS:
            raise ValueError(
                f"toleration {self.key!r}: effect {self.effect!r} is not one of "
                f"{', '.join(_EFFECTS)}"
            )

    def to_json(self) -> dict[str, str]:
        """The toleration as Kubernetes writes it (what ``add_toleration_json`` takes)."""
        entry = {"key": self.key, "operator": self.operator}
        if self.value is not None:
            entry["value"] = self.value
        if self.effect is not None:
            entry["effect"] = self.effect
        return entry


@dataclasses.dataclass(frozen=True)
class HardwareProfile:
    """Where a GPU step runs, on Kubernetes and on Vertex AI.

    Attributes:
        name: What ``kfp-mlops compile --gpu`` calls it.
        accelerator_type: The Kubernetes extended resource the step's limit is set on
            (``nvidia.com/gpu`` with NVIDIA's device plugin).
        accelerator_count: How many of them the step gets; more than one makes PyTorch training
            data-parallel over them.
        node_selector: Node labels the step's pod requires, e.g.
            ``{"cloud.google.com/gke-accelerator": "nvidia-l4"}``.
        tolerations: Taints of the GPU nodes the step tolerates.
        vertex_machine_type: The Vertex AI machine type of the CustomJob, e.g. ``g2-standard-8``.
        vertex_accelerator_type: The Vertex AI accelerator, e.g. ``NVIDIA_L4``.
        description: One line for ``kfp-mlops compile --help`` and the docs.
    """

    name: str
    accelerator_type: str = "nvidia.com/gpu"
    accelerator_count: int = 1
    node_selector: Mapping[str, str] = dataclasses.field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    vertex_machine_type: str = "n1-standard-8"
    vertex_accelerator_type: str = "NVIDIA_TESLA_T4"
    description: str = ""

    def __post_init__(self) -> None:
        if not _RESOURCE.match(self.accelerator_type):
            raise ValueError(
                f"profile {self.name!r}: accelerator_type {self.accelerator_type!r} is not a "
                "Kubernetes resource name such as nvidia.com/gpu"
            )
        count = self.accelerator_count
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(
                f"profile {self.name!r}: accelerator_count {count!r} must be an integer >= 1"
            )
        for key, value in self.node_selector.items():
            if not (isinstance(key, str) and isinstance(value, str) and key):
                raise ValueError(
                    f"profile {self.name!r}: node_selector entry {key!r}: {value!r} must map a "
                    "label name to a string value"
                )
        if not (self.vertex_machine_type and self.vertex_accelerator_type):
            raise ValueError(
                f"profile {self.name!r}: vertex_machine_type and vertex_accelerator_type must "
                "both be set"
            )
        object.__setattr__(self, "node_selector", dict(sorted(self.node_selector.items())))
        object.__setattr__(self, "tolerations", tuple(self.tolerations))

    def tolerations_json(self) -> list[dict[str, str]]:
        """The tolerations as Kubernetes writes them."""
        return [toleration.to_json() for toleration in self.tolerations]


GPU_TAINT = Toleration("nvidia.com/gpu", "Exists", effect="NoSchedule")
"""The taint GKE and most GPU node pools put on GPU nodes."""


def _gke(
    name: str, accelerator: str, count: int, machine: str, vertex: str, text: str
) -> HardwareProfile:
    return HardwareProfile(
        name=name,
        accelerator_count=count,
        node_selector={"cloud.google.com/gke-accelerator": accelerator},
        tolerations=(GPU_TAINT,),
        vertex_machine_type=machine,
        vertex_accelerator_type=vertex,
        description=text,
    )


PROFILES: dict[str, HardwareProfile] = {
    profile.name: profile
    for profile in (
        HardwareProfile(
            name="nvidia-gpu",
            tolerations=(GPU_TAINT,),
            description="1 NVIDIA GPU of any model (device plugin), tolerating the GPU taint; "
            "Vertex: n1-standard-8 + T4",
        ),
        _gke(
            "nvidia-t4",
            "nvidia-tesla-t4",
            1,
            "n1-standard-8",
            "NVIDIA_TESLA_T4",
            "1 T4 on a GKE T4 node pool; Vertex: n1-standard-8 + T4",
        ),
        _gke(
            "nvidia-l4",
            "nvidia-l4",
            1,
            "g2-standard-8",
            "NVIDIA_L4",
            "1 L4 on a GKE L4 node pool; Vertex: g2-standard-8",
        ),
        _gke(
            "nvidia-a100",
            "nvidia-tesla-a100",
            1,
            "a2-highgpu-1g",
            "NVIDIA_TESLA_A100",
            "1 A100 40GB on a GKE A100 node pool; Vertex: a2-highgpu-1g",
        ),
        _gke(
            "nvidia-a100x4",
            "nvidia-tesla-a100",
            4,
            "a2-highgpu-4g",
            "NVIDIA_TESLA_A100",
            "4 A100 40GB (DDP) on a GKE A100 node pool; Vertex: a2-highgpu-4g",
        ),
    )
}
"""The profiles ``kfp-mlops compile --gpu NAME`` knows."""


def profile_from_dict(values: Mapping[str, object], source: str) -> HardwareProfile:
    """A profile from :class:`HardwareProfile`'s fields (tolerations as Kubernetes writes them).

    Raises:
        ValueError: An unknown field or a value a profile refuses; the message names ``source``.
    """
    known = {field.name for field in dataclasses.fields(HardwareProfile)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(
            f"{source}: unknown profile field(s) {', '.join(unknown)}; known: "
            f"{', '.join(sorted(known))}"
        )
    fields = dict(values)
    fields.setdefault("name", Path(source).stem)
    try:
        fields["tolerations"] = tuple(
            Toleration(**entry) for entry in fields.get("tolerations", [])
        )
        return HardwareProfile(**fields)
    except TypeError as error:
        raise ValueError(f"{source}: {error}") from error


def load_profile(name_or_path: str) -> HardwareProfile:
    """The profile named ``name_or_path`` in :data:`PROFILES`, or read from a JSON or YAML file.

    Raises:
        ValueError: Neither a known name nor a readable file, or a bad profile.
    """
    if name_or_path in PROFILES:
        return PROFILES[name_or_path]
    path = Path(name_or_path)
    if not path.is_file():
        raise ValueError(
            f"GPU profile {name_or_path!r} is neither a known profile ({', '.join(PROFILES)}) "
            "nor a JSON/YAML file"
        )
    text = path.read_text(encoding="utf-8")
    try:
        values = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ValueError(f"GPU profile file {path} cannot be parsed: {error}") from error
    if not isinstance(values, dict):
        raise ValueError(f"GPU profile file {path} must hold a mapping of profile fields")
    return profile_from_dict(values, str(path))


def place(task: pipeline_task.PipelineTask, profile: HardwareProfile) -> pipeline_task.PipelineTask:
    """Gives ``task`` the profile's accelerator, node selector and tolerations, fixed in YAML."""
    task.set_accelerator_type(profile.accelerator_type)
    task.set_accelerator_limit(profile.accelerator_count)
    for key, value in profile.node_selector.items():
        kubernetes.add_node_selector(task, key, value)
    for toleration in profile.tolerations:
        kubernetes.add_toleration(
            task,
            key=toleration.key,
            operator=toleration.operator,
            value=toleration.value,
            effect=toleration.effect,
        )
    return task


@dataclasses.dataclass(frozen=True)
class PlacementParameters:
    """Pipeline parameters that choose a task's hardware when a run starts.

    Attributes:
        accelerator_type: A string parameter: the Kubernetes resource name.
        accelerator_count: An integer parameter.
        node_selector: A dict parameter: label name to value.
        tolerations: A list parameter of Kubernetes tolerations (dicts).
    """

    accelerator_type: pipeline_channel.PipelineParameterChannel
    accelerator_count: pipeline_channel.PipelineParameterChannel
    node_selector: pipeline_channel.PipelineParameterChannel
    tolerations: pipeline_channel.PipelineParameterChannel


def place_from_parameters(
    task: pipeline_task.PipelineTask, parameters: PlacementParameters
) -> pipeline_task.PipelineTask:
    """Wires ``task``'s accelerator, node selector and tolerations to pipeline parameters."""
    task.set_accelerator_type(parameters.accelerator_type)
    task.set_accelerator_limit(parameters.accelerator_count)
    kubernetes.add_node_selector_json(task, parameters.node_selector)
    kubernetes.add_toleration_json(task, parameters.tolerations)
    return task

"""Read compiled YAML back into KFP's own protobuf messages."""

from pathlib import Path

import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2


def load_specs(
    path: Path,
) -> tuple[pipeline_spec_pb2.PipelineSpec, pipeline_spec_pb2.PlatformSpec | None]:
    """The PipelineSpec of a compiled file and, when it has a second document, its PlatformSpec."""
    documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    assert 1 <= len(documents) <= 2, f"{path} holds {len(documents)} YAML documents"
    spec = json_format.ParseDict(documents[0], pipeline_spec_pb2.PipelineSpec())
    platform = None
    if len(documents) == 2:
        platform = json_format.ParseDict(documents[1], pipeline_spec_pb2.PlatformSpec())
    return spec, platform


def all_tasks(spec: pipeline_spec_pb2.PipelineSpec) -> dict[str, tuple[str, object]]:
    """Every task in the pipeline, nested ones included: name to (parent group, task spec)."""
    found: dict[str, tuple[str, object]] = {}

    def walk(group: str, dag: object) -> None:
        for name, task in dag.tasks.items():
            found[name] = (group, task)
            component = spec.components[task.component_ref.name]
            if component.WhichOneof("implementation") == "dag":
                walk(name, component.dag)

    walk("root", spec.root.dag)
    return found

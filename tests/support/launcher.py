"""Run a compiled component the way the KFP launcher runs it on a cluster, in an image we built.

The launcher reads the executor's container spec from the compiled YAML (image, command, args),
replaces the ``{{$}}`` placeholder with the executor input JSON (input parameter values, input
artifacts, and for every output an artifact URI and the file where the executor writes its
output metadata), and runs that command in that image. Artifact URIs are ``minio://BUCKET/...``,
which the executor maps to ``/minio/BUCKET/...``: a host folder mounted at /minio stands in for
the object store.
"""

import dataclasses
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from support.buildah import Buildah, Volume

MOUNT = "/minio"
BUCKET = "mlpipeline"
_BUILDAH_TRAILER = re.compile(r"^(subprocess exited with status \d+|Error: exit status \d+)$")
"""What ``buildah run`` adds after a command that failed."""


class ComponentRunError(RuntimeError):
    """The component exited non-zero; the message ends with the last line it printed."""


@dataclasses.dataclass(frozen=True)
class ExecutorSpec:
    """The one executor of a compiled component YAML."""

    name: str
    image: str
    command: list[str]
    args: list[str]
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    sdk_version: str

    @classmethod
    def from_component_yaml(cls, path: Path) -> "ExecutorSpec":
        """Reads the container spec, the inputs and outputs of a compiled component."""
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        executors = document["deploymentSpec"]["executors"]
        assert len(executors) == 1, f"{path.name} has {len(executors)} executors, not 1"
        ((executor_name, executor),) = executors.items()
        (component,) = (
            spec
            for spec in document["components"].values()
            if spec.get("executorLabel") == executor_name
        )
        container = executor["container"]
        return cls(
            name=path.stem,
            image=container["image"],
            command=list(container["command"]),
            args=list(container["args"]),
            inputs=component.get("inputDefinitions", {}),
            outputs=component.get("outputDefinitions", {}),
            sdk_version=document["sdkVersion"],
        )

    def argv(self, executor_input: dict[str, Any]) -> list[str]:
        """command + args with the executor input in place of ``{{$}}``.

        Raises:
            ValueError: The args hold a placeholder this launcher stand-in does not fill.
        """
        args = [json.dumps(executor_input) if arg == "{{$}}" else arg for arg in self.args]
        unfilled = [arg for arg in args if "{{$" in arg]
        if unfilled:
            raise ValueError(f"{self.name}: placeholders left unfilled: {unfilled}")
        return [*self.command, *args]


@dataclasses.dataclass(frozen=True)
class ArtifactRef:
    """An artifact in the stand-in object store."""

    uri: str
    schema_title: str
    metadata: dict[str, Any]

    def host_path(self, store: Path) -> Path:
        """Where the artifact's file or folder lies on this machine."""
        return store / self.uri.removeprefix("minio://")

    def executor_value(self, name: str) -> dict[str, Any]:
        """The artifact as the executor input lists it."""
        return {
            "artifacts": [
                {
                    "name": name,
                    "type": {"schemaTitle": self.schema_title, "schemaVersion": "0.0.1"},
                    "uri": self.uri,
                    "metadata": self.metadata,
                }
            ]
        }


@dataclasses.dataclass(frozen=True)
class ExecutorResult:
    """What one run produced: output artifacts (with the metadata the executor wrote), output
    parameters, and the process's output."""

    artifacts: dict[str, ArtifactRef]
    parameters: dict[str, Any]
    output: str


def stand_in_store(folder: Path) -> Path:
    """Makes ``folder`` the stand-in object store: the bucket, writable by any user (the image's
    user is not root), as the launcher's volume is."""
    (folder / BUCKET).mkdir(parents=True, exist_ok=True)
    for path in (folder, folder / BUCKET):
        path.chmod(0o777)
    return folder


def put_file(store: Path, source: Path, key: str) -> str:
    """Copies ``source`` into the store under ``key``; returns its path inside the container."""
    target = store / BUCKET / key
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())
    target.chmod(0o644)
    return f"{MOUNT}/{BUCKET}/{key}"


def run_component(
    buildah: Buildah,
    spec: ExecutorSpec,
    store: Path,
    task: str,
    parameters: dict[str, Any],
    artifacts: dict[str, ArtifactRef] | None = None,
    image: str | None = None,
    timeout: float = 900,
) -> ExecutorResult:
    """Runs one task of ``spec`` in a fresh container of its image, as the launcher would.

    Args:
        buildah: The store holding the image.
        spec: The compiled component.
        store: The stand-in object store (see :func:`stand_in_store`), mounted at /minio.
        task: The task name; its outputs go under ``minio://mlpipeline/<task>/``.
        parameters: Input parameter values (unset optional ones are left out, as KFP does).
        artifacts: Input artifacts by input name.
        image: Run in this image instead of the one the YAML names (a variant).
        timeout: Seconds before the run is stopped.

    Raises:
        ComponentRunError: The command exited non-zero.
    """
    prefix = f"{BUCKET}/{task}"
    output_artifacts = {
        name: ArtifactRef(f"minio://{prefix}/{name}", definition["artifactType"]["schemaTitle"], {})
        for name, definition in spec.outputs.get("artifacts", {}).items()
    }
    parameter_files = {
        name: f"{MOUNT}/{prefix}/parameters/{name}" for name in spec.outputs.get("parameters", {})
    }
    output_file = f"{MOUNT}/{prefix}/executor_output.json"
    executor_input = {
        "inputs": {
            "parameterValues": parameters,
            "artifacts": {
                name: ref.executor_value(name) for name, ref in (artifacts or {}).items()
            },
        },
        "outputs": {
            "artifacts": {name: ref.executor_value(name) for name, ref in output_artifacts.items()},
            "parameters": {name: {"outputFile": path} for name, path in parameter_files.items()},
            "outputFile": output_file,
        },
    }
    (store / prefix).mkdir(parents=True, exist_ok=True)
    (store / prefix).chmod(0o777)
    with buildah.container(image or spec.image) as container:
        done = buildah.run(
            container,
            spec.argv(executor_input),
            [Volume(store, MOUNT, read_only=False)],
            timeout=timeout,
        )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        said = [
            line.strip()
            for line in output.splitlines()
            if line.strip() and not _BUILDAH_TRAILER.match(line.strip())
        ]
        last = said[-1] if said else "(no output)"
        raise ComponentRunError(f"{spec.name} exited {done.returncode}: {last}")
    written = json.loads((store / output_file.removeprefix(f"{MOUNT}/")).read_text("utf-8"))
    written_artifacts = written.get("artifacts", {})
    produced = {
        name: ArtifactRef(
            ref.uri,
            ref.schema_title,
            written_artifacts.get(name, {}).get("artifacts", [{}])[0].get("metadata", {}),
        )
        for name, ref in output_artifacts.items()
    }
    return ExecutorResult(produced, written.get("parameterValues", {}), output)


def run_in_image(
    buildah: Buildah, image: str, argv: list[str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Runs ``argv`` in a fresh container of ``image`` (as its user); does not raise."""
    with buildah.container(image) as container:
        return buildah.run(container, argv, timeout=timeout)

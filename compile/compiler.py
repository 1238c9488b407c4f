"""Compile every pipeline and component to YAML, with the images the user asks for."""

import ast
import re
import tempfile
from pathlib import Path

from kfp import compiler

from kfp_mlops.compile import catalog
from kfp_mlops.components import images
from kfp_mlops.components.common.atomic import write_text
from kfp_mlops.pipelines import placement

_DEFAULT_COMMENT = re.compile(r"^(#\s+\w+: (?:dict|list) \[Default: )(.*)(\])$", flags=re.M)


def _sorted_keys(value: object) -> object:
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(item) for item in value]
    return value


def _stable_default_comments(text: str) -> str:
    """Sorts the keys of dict defaults in the header comments that KFP writes.

    KFP renders them from a protobuf Struct whose key order changes from one process to the next;
    the YAML body itself is already written with sorted keys.
    """

    def stable(match: re.Match[str]) -> str:
        default = _sorted_keys(ast.literal_eval(match.group(2)))
        return f"{match.group(1)}{default!r}{match.group(3)}"

    return _DEFAULT_COMMENT.sub(stable, text)


def compile_to_text(component: object, settings: images.ImageSettings) -> str:
    """Compiles a pipeline or component and returns its YAML with the images retargeted."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "compiled.yaml"
        compiler.Compiler().compile(component, str(path))
        text = _stable_default_comments(path.read_text(encoding="utf-8"))
        return images.retarget(text, settings)


def single_document(compiled_yaml: str) -> str:
    """The pipeline spec alone: the compiled YAML less its kfp-kubernetes platform document.

    Vertex AI reads a pipeline file as one YAML document (aiplatform refuses the second one with
    "expected a single document": google-cloud-aiplatform 1.165.1 ``utils/yaml_utils.py``,
    ``_load_yaml_from_local_file``, ``yaml.safe_load``), and Kubernetes settings (node selectors,
    tolerations, secrets, volumes) do not apply there.
    """
    return compiled_yaml.split("\n---\n", 1)[0].rstrip("\n") + "\n"


def compile_all(
    out_dir: Path,
    settings: images.ImageSettings = images.DEFAULT_SETTINGS,
    options: placement.BuildOptions | None = None,
) -> list[Path]:
    """Writes ``out_dir/pipelines/NAME.yaml`` and ``out_dir/components/NAME.yaml`` for everything.

    ``options`` (a GPU profile, run-time placement parameters, the Kubeflow or Vertex AI target)
    choose the pipeline variants (see :mod:`kfp_mlops.pipelines.placement`); components compile
    the same for every target. The output is byte-identical from one run to the next for the same
    code, settings and options.
    """
    options = options or placement.BuildOptions()
    written = []
    pipelines = {name: placement.build(item, options) for name, item in catalog.pipelines().items()}
    targets = [("pipelines", pipelines), ("components", catalog.components())]
    for kind, items in targets:
        for name, component in items.items():
            path = out_dir / kind / f"{name}.yaml"
            text = compile_to_text(component, settings)
            if options.target == "vertex":
                text = single_document(text)
            write_text(path, text)
            written.append(path)
    return written

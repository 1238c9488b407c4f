"""Compile every pipeline and component to YAML, with the images the user asks for."""

import ast
import re
import tempfile
from pathlib import Path

from kfp import compiler

from kfp_mlops.compile import catalog
from kfp_mlops.components import images
from kfp_mlops.components.atomic import write_text

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


def compile_all(
    out_dir: Path, settings: images.ImageSettings = images.DEFAULT_SETTINGS
) -> list[Path]:
    """Writes ``out_dir/pipelines/NAME.yaml`` and ``out_dir/components/NAME.yaml`` for everything.

    The output is byte-identical from one run to the next for the same code and settings.
    """
    written = []
    targets = [("pipelines", catalog.pipelines()), ("components", catalog.components())]
    for kind, items in targets:
        for name, component in items.items():
            path = out_dir / kind / f"{name}.yaml"
            write_text(path, compile_to_text(component, settings))
            written.append(path)
    return written

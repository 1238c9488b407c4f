"""Stages import only the shared layer and their own modules; the shared layer imports no stage.

The imports are read from the source (every ``import`` and ``from ... import``, those inside
function bodies included), so this runs in milliseconds and needs none of the packages installed.
A justified exception goes in ``layering_allowlist.txt`` beside this file, one
``importing.module -> imported.module`` per line with a comment saying why.
"""

import ast
from pathlib import Path

import pytest

from kfp_mlops.components import STAGES

ROOT = Path(__file__).resolve().parents[1] / "components"
PACKAGE = "kfp_mlops.components"
SHARED = f"{PACKAGE}.common"
TOP_LEVEL = (f"{PACKAGE}.images", f"{PACKAGE}.lazy")
"""Modules beside the stages that every stage may use: image names and the lazy re-export."""
ALLOW_LIST = Path(__file__).with_name("layering_allowlist.txt")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def imported_modules(path: Path) -> set[str]:
    """Every ``kfp_mlops.components`` module the file imports (``from X import name`` counts
    ``X.name`` when that is a module of the package, else ``X``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                relative = candidate.removeprefix(f"{PACKAGE}.").replace(".", "/")
                is_module = (ROOT / f"{relative}.py").exists() or (ROOT / relative).is_dir()
                found.add(candidate if is_module else node.module)
    return {name for name in found if name == PACKAGE or name.startswith(f"{PACKAGE}.")}


def _owner(module: str) -> str | None:
    """The stage (or ``common``) a module belongs to; None for the package's top-level modules."""
    parts = module.removeprefix(f"{PACKAGE}.").split(".")
    return parts[0] if module != PACKAGE and parts[0] in (*STAGES, "common") else None


def _allowed(importer: str, imported: str) -> bool:
    owner, target = _owner(importer), _owner(imported)
    if owner == "common":
        return target == "common" or imported in TOP_LEVEL
    return target in (owner, "common") or imported in TOP_LEVEL


def _allow_list() -> set[tuple[str, str]]:
    pairs = set()
    for line in ALLOW_LIST.read_text(encoding="utf-8").splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            importer, _, imported = (part.strip() for part in entry.partition("->"))
            pairs.add((importer, imported))
    return pairs


def layering_violations() -> list[str]:
    """``importer -> imported`` for every import that crosses a stage boundary."""
    violations = []
    for path in sorted(ROOT.rglob("*.py")):
        importer = _module_name(path)
        if _owner(importer) is None:
            continue
        for imported in sorted(imported_modules(path)):
            if not _allowed(importer, imported):
                violations.append(f"{importer} -> {imported}")
    return violations


def test_every_stage_package_exists():
    assert sorted(
        path.name for path in ROOT.iterdir() if (path / "__init__.py").exists()
    ) == sorted((*STAGES, "common"))


def test_stages_import_only_the_shared_layer_and_themselves():
    allowed = {f"{importer} -> {imported}" for importer, imported in _allow_list()}
    assert [item for item in layering_violations() if item not in allowed] == []


def test_the_allow_list_holds_no_stale_entry():
    current = set(layering_violations())
    stale = [
        f"{importer} -> {imported}"
        for importer, imported in _allow_list()
        if f"{importer} -> {imported}" not in current
    ]
    assert stale == []


@pytest.mark.parametrize(
    ("importer", "imported", "allowed"),
    [
        ("kfp_mlops.components.monitoring.quality", "kfp_mlops.components.common.metrics", True),
        ("kfp_mlops.components.monitoring.quality", "kfp_mlops.components.evaluation.gate", False),
        ("kfp_mlops.components.common.tables", "kfp_mlops.components.data.ingest", False),
        ("kfp_mlops.components.serving.check", "kfp_mlops.components.serving.protocols", True),
        ("kfp_mlops.components.deployment.component", "kfp_mlops.components.images", True),
        ("kfp_mlops.components.common.model_io", "kfp_mlops.components.lazy", True),
    ],
)
def test_the_rule(importer, imported, allowed):
    assert _allowed(importer, imported) is allowed


def test_imports_inside_function_bodies_are_read(tmp_path):
    source = tmp_path / "module.py"
    source.write_text(
        "def body():\n    from kfp_mlops.components.training import train\n"
        "    import kfp_mlops.components.data.split\n"
    )
    assert imported_modules(source) == {
        "kfp_mlops.components.training.train",
        "kfp_mlops.components.data.split",
    }

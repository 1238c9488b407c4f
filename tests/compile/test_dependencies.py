"""Every third-party module the package imports comes from a distribution pyproject.toml declares
(base dependencies or an extra), pinned in constraints.txt."""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "containers"))
import requirements as requirements_module  # noqa: E402 (containers/ is not a package)


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>;!~ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imported_modules() -> dict[str, set[str]]:
    """Top-level module name to the files importing it, for components/, compile/, pipelines/."""
    found: dict[str, set[str]] = {}
    for folder in ("components", "compile", "pipelines"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_imported_distribution_is_declared_and_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_name(item) for item in requirements_module.requirements(project, ["all"])}
    constraints = {
        _name(line)
        for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    distributions = packages_distributions()
    undeclared = {}
    for module, files in sorted(_imported_modules().items()):
        if module in sys.stdlib_module_names or module == "kfp_mlops":
            continue
        provided_by = {_name(name) for name in distributions.get(module, [])}
        assert provided_by, f"{module} (imported by {sorted(files)}) is not installed"
        if not provided_by & declared:
            undeclared[module] = sorted(files)
        else:
            assert provided_by & constraints, f"{module} is not pinned in constraints.txt"
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"

"""containers/Dockerfile and containers/requirements.py, read without building anything."""

import importlib.util
import re
import tomllib

import pytest
from support.image_build import KFP_VERSION, REPOSITORY_ROOT

from kfp_mlops.components import images

DOCKERFILE = (REPOSITORY_ROOT / "containers" / "Dockerfile").read_text(encoding="utf-8")
_spec = importlib.util.spec_from_file_location(
    "container_requirements", REPOSITORY_ROOT / "containers" / "requirements.py"
)
requirements_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(requirements_module)


def _arg_defaults() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, value in re.findall(r"^ARG (\w+)(?:=(\S*))?$", DOCKERFILE, flags=re.M):
        found.setdefault(name, set()).add(value)
    return found


def test_build_arguments_default_to_what_we_compile_with():
    defaults = _arg_defaults()
    assert defaults["VERSION"] == {images.PACKAGE_VERSION}
    assert defaults["KFP_VERSION"] == {KFP_VERSION}
    constraints = (REPOSITORY_ROOT / "constraints.txt").read_text(encoding="utf-8")
    assert f"\nkfp=={KFP_VERSION}\n" in constraints
    assert defaults["BASE"] == {"python:3.11-slim-bookworm", ""}
    # Unset unless the builder passes one: the image never carries the builder's pip settings.
    assert defaults["PIP_CONFIG_FILE"] == {""}


def test_every_stage_starts_from_base_and_the_image_runs_as_a_numeric_non_root_user():
    assert re.findall(r"^FROM (\S+)", DOCKERFILE, flags=re.M) == ["${BASE}", "${BASE}"]
    users = re.findall(r"^USER (\S+)$", DOCKERFILE, flags=re.M)
    assert users == ["10001:10001"]


def test_requirements_expand_self_references_once():
    project = {
        "name": "kfp-mlops",
        "dependencies": ["kfp==2.17.0"],
        "optional-dependencies": {
            "data": ["pyarrow==25.0.1"],
            "sklearn": ["kfp-mlops[data]", "scikit-learn==1.9.1"],
            "runtime": ["KFP_MLOps[sklearn, data]", "mlflow==3.17.2; python_version >= '3.11'"],
        },
    }
    assert requirements_module.requirements(project, ["runtime"]) == [
        "kfp==2.17.0",
        "pyarrow==25.0.1",
        "scikit-learn==1.9.1",
        "mlflow==3.17.2; python_version >= '3.11'",
    ]
    message = re.escape("extra 'gpu' is not in pyproject.toml; known: data, runtime, sklearn")
    with pytest.raises(ValueError, match=message):
        requirements_module.requirements(project, ["gpu"])


def test_runtime_requirements_cover_the_declared_runtime_extra():
    pyproject = tomllib.loads((REPOSITORY_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = requirements_module.requirements(pyproject["project"], ["runtime"])
    assert set(pyproject["project"]["dependencies"]) <= set(listed)
    assert not [item for item in listed if item.lower().startswith("kfp-mlops")]

"""containers/Dockerfile, containers/Dockerfile.gpu and containers/requirements.py, read without
building anything (the GPU image is never built here: its CUDA base is not reachable)."""

import importlib.util
import re
import tomllib

import pytest
from support.image_build import KFP_VERSION, REPOSITORY_ROOT

from kfp_mlops.components import images

DOCKERFILES = {
    name: (REPOSITORY_ROOT / "containers" / name).read_text(encoding="utf-8")
    for name in ("Dockerfile", "Dockerfile.gpu")
}
DEFAULT_BASES = {
    "Dockerfile": "python:3.11-slim-bookworm",
    "Dockerfile.gpu": "nvidia/cuda:12.8.1-runtime-ubuntu24.04",
}
EXTRAS = {"Dockerfile": ["runtime"], "Dockerfile.gpu": ["runtime", "torch"]}
LABELS = (
    "org.opencontainers.image.version",
    "org.opencontainers.image.source",
    "org.opencontainers.image.base.name",
    "io.kfp-mlops.kfp-version",
)
_spec = importlib.util.spec_from_file_location(
    "container_requirements", REPOSITORY_ROOT / "containers" / "requirements.py"
)
requirements_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(requirements_module)


def _arg_defaults(dockerfile: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, value in re.findall(r"^ARG (\w+)(?:=(\S*))?$", dockerfile, flags=re.M):
        found.setdefault(name, set()).add(value)
    return found


@pytest.mark.parametrize("name", DOCKERFILES)
def test_build_arguments_default_to_what_we_compile_with(name: str):
    defaults = _arg_defaults(DOCKERFILES[name])
    assert defaults["VERSION"] == {images.PACKAGE_VERSION}
    assert defaults["KFP_VERSION"] == {KFP_VERSION}
    constraints = (REPOSITORY_ROOT / "constraints.txt").read_text(encoding="utf-8")
    assert f"\nkfp=={KFP_VERSION}\n" in constraints
    assert defaults["BASE"] == {DEFAULT_BASES[name], ""}
    # Unset unless the builder passes one: the image never carries the builder's pip settings.
    assert defaults["PIP_CONFIG_FILE"] == {""}


@pytest.mark.parametrize("name", DOCKERFILES)
def test_every_stage_starts_from_base_and_the_image_runs_as_a_numeric_non_root_user(name: str):
    dockerfile = DOCKERFILES[name]
    assert re.findall(r"^FROM (\S+)", dockerfile, flags=re.M) == ["${BASE}", "${BASE}"]
    users = re.findall(r"^USER (\S+)$", dockerfile, flags=re.M)
    assert users == ["10001:10001"]
    final_stage = dockerfile.rpartition("\nFROM ")[2]
    assert "COPY --from=build /opt/kfp-mlops /opt/kfp-mlops" in final_stage
    assert "ENV PATH=/opt/kfp-mlops/bin:$PATH" in final_stage
    assert "PIP_CONFIG_FILE" not in final_stage


@pytest.mark.parametrize("name", DOCKERFILES)
def test_the_package_is_installed_with_the_pins_of_the_tests(name: str):
    dockerfile = DOCKERFILES[name]
    extras = " ".join(EXTRAS[name])
    assert f"requirements.py --pyproject /src/pyproject.toml {extras}" in " ".join(
        dockerfile.replace("\\\n", " ").split()
    )
    assert "pip install -c /src/constraints.txt -r /src/requirements.txt" in dockerfile
    assert '"kfp==${KFP_VERSION}"' in dockerfile
    assert '"kfp-mlops==${VERSION}"' in dockerfile
    assert "pip check" in dockerfile
    for label in LABELS:
        assert f"{label}=" in dockerfile, label


def test_the_gpu_image_extras_exist_and_pin_torch():
    pyproject = tomllib.loads((REPOSITORY_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = requirements_module.requirements(pyproject["project"], EXTRAS["Dockerfile.gpu"])
    assert [item for item in listed if item.startswith("torch==")]
    constraints = (REPOSITORY_ROOT / "constraints.txt").read_text(encoding="utf-8")
    assert re.search(r"^torch==\S+$", constraints, flags=re.M)


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

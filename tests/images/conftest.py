"""The CPU image, built once per session from containers/Dockerfile, and the compiled components.

The first session builds from scratch (a debootstrap'ed base, a wheelhouse, every layer); later
ones reuse what the cache folder holds (support.image_build) and rebuild only what changed.
"""

import os
import shutil
from pathlib import Path

import pytest
from support.image_build import RECIPES, BuiltImage, ImageCache, build_image
from support.launcher import ExecutorSpec

from kfp_mlops.compile import catalog
from kfp_mlops.compile.compiler import compile_to_text
from kfp_mlops.components import images

COMPONENTS = ("ingest_dataset", "split_dataset", "train_sklearn")
"""The components run inside the image: the data steps and training, chained as in a pipeline."""


@pytest.fixture(scope="session")
def image_cache() -> ImageCache:
    """The cache folder; fails at once, in one line, when this machine cannot build images."""
    missing = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: run `bash scripts/system-packages.sh` "
            "(Debian packages of scripts/system-packages.txt)"
        )
    if os.geteuid() != 0:
        pytest.fail("tests/images must run as root (buildah chroot isolation and debootstrap)")
    return ImageCache.default()


@pytest.fixture(scope="session")
def cpu_image(image_cache: ImageCache) -> BuiltImage:
    """The CPU image, named exactly as the compiled YAML names it."""
    return build_image(image_cache, RECIPES[images.CPU_REPOSITORY])


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ExecutorSpec]:
    """The components of :data:`COMPONENTS`, compiled with the default images."""
    folder: Path = tmp_path_factory.mktemp("components")
    found = catalog.components()
    specs = {}
    for name in COMPONENTS:
        path = folder / f"{name}.yaml"
        path.write_text(compile_to_text(found[name], images.DEFAULT_SETTINGS), encoding="utf-8")
        specs[name] = ExecutorSpec.from_component_yaml(path)
    return specs

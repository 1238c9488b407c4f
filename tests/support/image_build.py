"""Build the component images here, as a registry would get them, from our own Dockerfiles.

What is specific to this machine stays here, never in a Dockerfile: the packages come from a
wheelhouse that this machine's pip fills (its CA bundle, mirrors and local wheel folders apply), and
the build reads it offline through a pip configuration file mounted at /mnt (the Dockerfiles'
``PIP_CONFIG_FILE`` build argument). The base is a debootstrap'ed bookworm (support.image_base).

Everything lives in one cache folder, ``$KFP_MLOPS_IMAGE_CACHE`` or ``.cache/images`` in the
repository (git-ignored; a fresh clone, as in CI, builds from scratch): the buildah store with the
base and the layer cache, the wheelhouse, the build logs. After each build the store keeps the
layers of the latest build of each image and drops older ones, so it does not grow with every code
change.

To add an image, add an :class:`ImageRecipe` to :data:`RECIPES`: its repository in
components/images.py, its Dockerfile (which must declare ``ARG PIP_CONFIG_FILE`` in the stage
that pip-installs), the pyproject extras its wheelhouse needs and any build arguments of its own.
"""

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import time
import tomllib
from importlib.metadata import version
from pathlib import Path

from kfp_mlops.components import images
from support.buildah import Buildah, BuildahError, Volume
from support.image_base import DebianBase, ensure_base

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE_MOUNT = "/mnt"
"""Where the build steps see the wheelhouse: a folder every Debian base has, so buildah leaves no
mount point behind in the image."""
KFP_VERSION = version("kfp")
"""The kfp this environment compiles with; the images must run the same one."""


@dataclasses.dataclass(frozen=True)
class ImageRecipe:
    """How to build one of the images that components/images.py names."""

    repository: str
    dockerfile: str
    extras: tuple[str, ...]
    build_args: tuple[tuple[str, str], ...] = ()

    @property
    def reference(self) -> str:
        """The image exactly as the compiled YAML names it by default (the package's version)."""
        return images.DEFAULT_SETTINGS.reference(self.repository)


RECIPES: dict[str, ImageRecipe] = {
    images.CPU_REPOSITORY: ImageRecipe(
        images.CPU_REPOSITORY, "containers/Dockerfile", extras=("runtime",)
    ),
}


@dataclasses.dataclass(frozen=True)
class BuiltImage:
    """An image in the store and what its build took."""

    reference: str
    image_id: str
    seconds: float
    log: Path


@dataclasses.dataclass(frozen=True)
class ImageCache:
    """The cache folder: buildah store, wheelhouse, logs, and the layer ids each image keeps."""

    root: Path

    @classmethod
    def default(cls) -> "ImageCache":
        """``$KFP_MLOPS_IMAGE_CACHE``, else ``.cache/images`` in the repository."""
        configured = os.environ.get("KFP_MLOPS_IMAGE_CACHE")
        return cls(Path(configured) if configured else REPOSITORY_ROOT / ".cache" / "images")

    @property
    def buildah(self) -> Buildah:
        """buildah on this cache's store."""
        return Buildah(self.root / "buildah")

    @property
    def wheelhouse(self) -> Path:
        """The folder mounted at /mnt during builds: pip.conf and wheels/."""
        return self.root / "wheelhouse"

    def log(self, name: str) -> Path:
        """Where the output of step ``name`` goes."""
        return self.root / "logs" / f"{name}.log"


def _pip_requirements(extras: tuple[str, ...]) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(REPOSITORY_ROOT / "containers" / "requirements.py"), *extras],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()


def fill_wheelhouse(cache: ImageCache, extras: tuple[str, ...]) -> Path:
    """Puts a wheel of every package that ``kfp-mlops[EXTRAS]`` needs into the wheelhouse.

    This machine's pip does the work, with this machine's settings, and builds wheels of the
    packages published only as source; nothing is fetched again while the requirements, the
    constraints and the build requirements are unchanged.

    Returns:
        The wheelhouse folder.

    Raises:
        BuildahError: pip failed (the message names the log file).
    """
    pyproject = tomllib.loads((REPOSITORY_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = [
        *_pip_requirements(extras),
        *pyproject["build-system"]["requires"],
        f"kfp=={KFP_VERSION}",
    ]
    constraints = (REPOSITORY_ROOT / "constraints.txt").read_text(encoding="utf-8")
    key = hashlib.sha256(json.dumps([wanted, constraints]).encode()).hexdigest()[:16]
    stamp = cache.wheelhouse / f".filled-{key}"
    if stamp.exists():
        return cache.wheelhouse
    wheels = cache.wheelhouse / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    log = cache.log("wheelhouse")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as output:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--disable-pip-version-check",
                "--wheel-dir",
                str(wheels),
                "-c",
                str(REPOSITORY_ROOT / "constraints.txt"),
                *wanted,
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=1800,
            check=False,
        )
    if done.returncode != 0:
        raise BuildahError(f"filling the wheelhouse failed (exit {done.returncode}); see {log}")
    (cache.wheelhouse / "pip.conf").write_text(
        f"[global]\nno-index = true\nfind-links = {WHEELHOUSE_MOUNT}/wheels\n", encoding="utf-8"
    )
    stamp.touch()
    return cache.wheelhouse


def _keep_file(cache: ImageCache, reference: str) -> Path:
    return cache.root / "keep" / (hashlib.sha256(reference.encode()).hexdigest()[:16] + ".json")


def prune(cache: ImageCache) -> None:
    """Drops the untagged images (layer cache) that no kept build uses."""
    kept: set[str] = set()
    for path in (cache.root / "keep").glob("*.json"):
        kept.update(json.loads(path.read_text(encoding="utf-8"))["images"])
    stale = [
        image_id
        for image_id, names in cache.buildah.image_ids().items()
        if not names and not any(image_id.startswith(prefix) for prefix in kept)
    ]
    cache.buildah.remove_images(stale)


def build_image(
    cache: ImageCache,
    recipe: ImageRecipe,
    *,
    dockerfile: Path | None = None,
    tag: str | None = None,
    keep: bool = True,
) -> BuiltImage:
    """Builds ``recipe`` (or another ``dockerfile`` with its settings) into the cache's store.

    Args:
        cache: Where the store, wheelhouse and logs are.
        recipe: The image.
        dockerfile: A Dockerfile to use instead of the recipe's (a variant of it).
        tag: The name to give the image; by default the reference the compiled YAML uses.
        keep: Keep this build's layers for the next build (False for throwaway variants).

    Raises:
        BuildahError: The base, the wheelhouse or the build failed (the message says which).
    """
    buildah = cache.buildah
    base = ensure_base(buildah, DebianBase(), cache.log("debootstrap"))
    fill_wheelhouse(cache, recipe.extras)
    reference = tag or recipe.reference
    started = time.perf_counter()
    log = cache.log(f"build-{recipe.repository}" + ("" if keep else "-variant"))
    steps = buildah.build(
        dockerfile or REPOSITORY_ROOT / recipe.dockerfile,
        REPOSITORY_ROOT,
        reference,
        {
            "BASE": base,
            "VERSION": images.PACKAGE_VERSION,
            "KFP_VERSION": KFP_VERSION,
            "PIP_CONFIG_FILE": f"{WHEELHOUSE_MOUNT}/pip.conf",
            **dict(recipe.build_args),
        },
        [Volume(cache.wheelhouse, WHEELHOUSE_MOUNT)],
        log,
    )
    seconds = time.perf_counter() - started
    if keep:
        keep_file = _keep_file(cache, reference)
        keep_file.parent.mkdir(parents=True, exist_ok=True)
        keep_file.write_text(json.dumps({"reference": reference, "images": steps}), "utf-8")
    prune(cache)
    return BuiltImage(reference, steps[-1], seconds, log)

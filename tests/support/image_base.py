"""The base the test images are built FROM, made here with debootstrap: no registry needed.

The Dockerfiles default to the official ``python:3.11-slim-bookworm``, which no registry here
serves. Its stand-in is Debian bookworm itself (minbase) with Debian's python3 (3.11, the minor
version our pins are resolved for) and python3-venv, plus what the slim image also carries
(ca-certificates, netbase, tzdata). It is committed once into the buildah store under a name that
hashes its recipe, so a changed recipe makes a new base and an unchanged one is reused.
"""

import dataclasses
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from support.buildah import Buildah, BuildahError

DEFAULT_MIRROR = "http://deb.debian.org/debian"
TRIMMED = ("var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man")
"""Folders emptied after debootstrap, as the slim images do: package caches and documentation."""


@dataclasses.dataclass(frozen=True)
class DebianBase:
    """What goes into the base image."""

    suite: str = "bookworm"
    packages: tuple[str, ...] = ("python3", "python3-venv", "ca-certificates", "netbase", "tzdata")
    mirror: str = dataclasses.field(
        default_factory=lambda: os.environ.get("KFP_MLOPS_DEBIAN_MIRROR", DEFAULT_MIRROR)
    )

    @property
    def reference(self) -> str:
        """The image name in the store; the tag changes whenever the recipe does."""
        recipe = f"{self.suite} {' '.join(sorted(self.packages))} {' '.join(TRIMMED)}"
        digest = hashlib.sha256(recipe.encode()).hexdigest()[:12]
        return f"localhost/kfp-mlops-test-base:{self.suite}-{digest}"


def ensure_base(buildah: Buildah, base: DebianBase, log: Path) -> str:
    """The base image's reference, debootstrapped into ``buildah``'s store if it is not there.

    Raises:
        BuildahError: debootstrap or buildah failed (the message names the log file).
    """
    if buildah.has_image(base.reference):
        return base.reference
    container = buildah.call("from", "scratch").strip()
    try:
        rootfs = Path(buildah.call("mount", container).strip())
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w", encoding="utf-8") as output:
            done = subprocess.run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={','.join(base.packages)}",
                    base.suite,
                    str(rootfs),
                    base.mirror,
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=1800,
                check=False,
            )
        if done.returncode != 0:
            raise BuildahError(
                f"debootstrap {base.suite} from {base.mirror} failed (exit {done.returncode}); "
                f"see {log}"
            )
        for folder in TRIMMED:
            shutil.rmtree(rootfs / folder, ignore_errors=True)
            (rootfs / folder).mkdir(parents=True, exist_ok=True)
        buildah.call("umount", container)
        buildah.call(
            "config",
            "--env",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--env",
            "LANG=C.UTF-8",
            "--cmd",
            "python3",
            container,
        )
        buildah.call("commit", "--rm", container, base.reference, timeout=1800)
    except BaseException:
        subprocess.run(buildah.command("rm", container), capture_output=True, check=False)
        raise
    return base.reference

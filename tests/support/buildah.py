"""OCI images without a daemon: buildah with chroot isolation and vfs storage in a folder of ours.

Debian's ``buildah`` package (scripts/system-packages.txt), run as root: chroot isolation needs no
user namespaces, and the vfs driver needs no overlay mounts, so it works inside an unprivileged
container too. Every call names the storage folder, so nothing touches the machine's own image
store.
"""

import contextlib
import dataclasses
import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

_STEP_IMAGE = re.compile(r"^ *[0-9.]+ --> (?:Using cache )?([0-9a-f]{11,64})$", flags=re.M)


class BuildahError(RuntimeError):
    """A buildah command failed; the message is one line with the command and its last words."""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def _logged(argv: list[str], log: Path, timeout: float) -> int:
    """Runs ``argv``, writing each line of its output to ``log`` after the seconds since the start
    (a build log then shows what each step took, line by line as the build goes, so ``tail -f``
    follows it); kills it after ``timeout`` seconds."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with (
        log.open("w", encoding="utf-8", buffering=1) as output,
        subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
        ) as process,
    ):
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            for line in process.stdout:
                output.write(f"{time.monotonic() - started:7.1f} {line}")
        finally:
            timer.cancel()
        return process.wait()


@dataclasses.dataclass(frozen=True)
class Volume:
    """A host folder or file bind-mounted into a build step or a container."""

    host: Path
    target: str
    read_only: bool = True

    def option(self) -> str:
        """The ``-v`` value."""
        return f"{self.host}:{self.target}" + (":ro" if self.read_only else "")


@dataclasses.dataclass(frozen=True)
class Buildah:
    """buildah on a storage folder of its own (``root/storage``, ``root/runroot``)."""

    root: Path

    def command(self, *args: str) -> list[str]:
        """The argv of ``buildah ARGS`` on this storage."""
        return [
            "buildah",
            "--root",
            str(self.root / "storage"),
            "--runroot",
            str(self.root / "runroot"),
            "--storage-driver",
            "vfs",
            *args,
        ]

    def call(self, *args: str, timeout: float = 600) -> str:
        """Runs ``buildah ARGS``; returns stdout.

        Raises:
            BuildahError: It exited non-zero (the message holds its last line of stderr).
        """
        done = subprocess.run(
            self.command(*args), capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise BuildahError(
                f"buildah {args[0]} failed (exit {done.returncode}): {_last_line(done.stderr)}"
            )
        return done.stdout

    def has_image(self, reference: str) -> bool:
        """Whether the store holds an image named ``reference``."""
        done = subprocess.run(
            self.command("inspect", "--type", "image", reference),
            capture_output=True,
            check=False,
        )
        return done.returncode == 0

    def inspect(self, reference: str) -> dict:
        """``buildah inspect`` of an image, as a dict (``OCIv1`` holds the image config)."""
        return json.loads(self.call("inspect", "--type", "image", reference))

    def image_ids(self) -> dict[str, list[str]]:
        """Every image in the store, intermediate ones included: full id to names."""
        listed = json.loads(self.call("images", "--all", "--no-trunc", "--json") or "[]")
        return {
            image["id"].removeprefix("sha256:"): list(image.get("names") or []) for image in listed
        }

    def remove_images(self, ids: Sequence[str]) -> None:
        """Removes images by id (their containers too)."""
        if ids:
            self.call("rmi", "--force", *ids)

    def build(
        self,
        dockerfile: Path,
        context: Path,
        tag: str,
        build_args: Mapping[str, str],
        volumes: Sequence[Volume],
        log: Path,
        timeout: float = 3600,
    ) -> list[str]:
        """Builds ``dockerfile`` in ``context`` as ``tag``, reusing cached layers.

        Args:
            dockerfile: The Dockerfile (it may lie outside the context).
            context: The build context; its .dockerignore applies.
            tag: The name the image gets.
            build_args: ``--build-arg`` values.
            volumes: Mounted into every RUN step (not part of the image).
            log: Receives the whole build output.
            timeout: Seconds before the build is stopped.

        Returns:
            The ids of the images of every step, the final one last (the layer cache to keep).

        Raises:
            BuildahError: The build failed; the message names the Dockerfile, the last line of
                the output and the log file.
        """
        args = ["bud", "--isolation", "chroot", "--layers", "--pull-never", "-f", str(dockerfile)]
        for name, value in sorted(build_args.items()):
            args += ["--build-arg", f"{name}={value}"]
        for volume in volumes:
            args += ["-v", volume.option()]
        args += ["-t", tag, str(context)]
        returncode = _logged(self.command(*args), log, timeout)
        text = log.read_text(encoding="utf-8", errors="replace")
        if returncode != 0:
            raise BuildahError(
                f"building {dockerfile} failed (exit {returncode}): {_last_line(text)} "
                f"(whole log: {log})"
            )
        steps = _STEP_IMAGE.findall(text)
        final = self.inspect(tag)["FromImageID"]
        return [*steps, final]

    @contextlib.contextmanager
    def container(self, image: str) -> Iterator[str]:
        """A working container of ``image`` (removed afterwards); yields its name."""
        name = self.call("from", "--pull-never", image).strip()
        try:
            yield name
        finally:
            self.call("rm", name)

    def run(
        self,
        container: str,
        argv: Sequence[str],
        volumes: Sequence[Volume] = (),
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        """Runs ``argv`` in ``container`` as the image's user, in its working directory, with its
        environment: as a container runtime runs the image. Does not raise on a non-zero exit."""
        args = ["run", "--isolation", "chroot"]
        for volume in volumes:
            args += ["-v", volume.option()]
        return subprocess.run(
            self.command(*args, container, "--", *argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

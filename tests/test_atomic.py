"""Atomic writes: a killed step's temporaries are cleaned, the old folder survives a failed swap."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kfp_mlops.components.common import atomic
from kfp_mlops.components.common.atomic import (
    STALE_SECONDS,
    atomic_directory,
    atomic_file,
    write_text,
)


def killed_mid_write(destination: Path, sig: int, directory: bool) -> int:
    """Runs a writer that signals itself in the middle of writing ``destination``."""
    opener = "atomic_directory" if directory else "atomic_file"
    program = textwrap.dedent(
        f"""
        import os, signal
        from kfp_mlops.components.common.atomic import {opener}
        with {opener}({str(destination)!r}) as temporary:
            if {directory}:
                (temporary / "model.joblib").write_bytes(b"half")
            else:
                temporary.write_bytes(b"half")
            os.kill(os.getpid(), {int(sig)})
        """
    )
    return subprocess.run([sys.executable, "-c", program], timeout=60).returncode


def leftovers(destination: Path) -> list[str]:
    return sorted(path.name for path in destination.parent.glob(f".{destination.name}.*"))


@pytest.mark.parametrize("directory", [False, True])
def test_sigterm_mid_write_leaves_no_temporary(tmp_path, directory):
    destination = tmp_path / ("model" if directory else "metrics.json")

    assert killed_mid_write(destination, signal.SIGTERM, directory) == 128 + signal.SIGTERM
    assert leftovers(destination) == []
    assert not destination.exists()


@pytest.mark.parametrize("directory", [False, True])
def test_the_next_write_removes_what_a_sigkill_left(tmp_path, directory):
    destination = tmp_path / ("model" if directory else "metrics.json")
    assert killed_mid_write(destination, signal.SIGKILL, directory) == -signal.SIGKILL
    (left,) = leftovers(destination)
    old = time.time() - STALE_SECONDS - 1
    os.utime(tmp_path / left, (old, old))

    if directory:
        with atomic_directory(destination) as folder:
            (folder / "model.joblib").write_bytes(b"whole")
    else:
        write_text(destination, "whole")

    assert leftovers(destination) == []
    assert destination.exists()


def test_a_fresh_temporary_of_a_live_writer_is_kept(tmp_path):
    destination = tmp_path / "metrics.json"
    with atomic_file(destination) as temporary:
        temporary.write_text("being written")
        write_text(tmp_path / "metrics.json.other", "x")  # another destination: not touched
        assert temporary.exists()


def test_a_failed_swap_keeps_the_old_folder(tmp_path, monkeypatch):
    destination = tmp_path / "model"
    with atomic_directory(destination) as folder:
        (folder / "model.joblib").write_bytes(b"old")
    real_replace = os.replace

    def replace(source, target):
        if Path(target) == destination and ".old-" not in Path(source).name:
            raise OSError("disk full")  # the new folder's rename into place fails
        real_replace(source, target)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OSError, match="disk full"), atomic_directory(destination) as folder:
        (folder / "model.joblib").write_bytes(b"new")

    assert (destination / "model.joblib").read_bytes() == b"old"
    assert leftovers(destination) == []


def test_the_old_folder_is_moved_aside_not_deleted_before_the_new_one_is_in(tmp_path, monkeypatch):
    destination = tmp_path / "model"
    with atomic_directory(destination) as folder:
        (folder / "model.joblib").write_bytes(b"old")
    seen = []
    real_replace = os.replace

    def replace(source, target):
        if Path(target) == destination:  # at the swap, the old model still exists somewhere
            seen.extend(path.read_bytes() for path in tmp_path.rglob("model.joblib"))
        real_replace(source, target)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with atomic_directory(destination) as folder:
        (folder / "model.joblib").write_bytes(b"new")

    assert sorted(seen) == [b"new", b"old"]
    assert (destination / "model.joblib").read_bytes() == b"new"
    assert leftovers(destination) == []

"""Write outputs so that a failed step leaves nothing a later step could take for a good result.

Everything is first written beside its destination under a temporary name and renamed into place
only when it is complete; on error the temporary file or folder is removed. What is renamed into
place gets the usual permissions (0644 files, 0755 folders, less the umask), not the private ones of
a temporary file, so that a model server running as another user can read a model folder.

SIGTERM (what Kubernetes sends first when a pod is stopped or a step's time limit passes) is
turned into ``SystemExit`` while a write is under way, when nothing else handles it, so the
cleanup below runs. A step killed outright (SIGKILL) runs no cleanup and leaves its temporary
(``.NAME.xxxx``) behind. The next write to the same destination removes those leftovers first, so
they never pile up; two writers of one destination at once are not supported (each step owns its
outputs), and a leftover only goes once it is older than :data:`STALE_SECONDS`, so a temporary still
being written by a live writer is never removed.

``atomic_directory`` never deletes the old folder before the new one is in place: the old folder is
renamed aside (``.NAME.old-xxxx``), the new one renamed in, and only then is the old one removed.
A kill between the two renames leaves the destination missing and the old folder aside, which the
next write cleans up.
"""

import contextlib
import functools
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

STALE_SECONDS = 60.0
"""How old a leftover temporary must be before a later write of the same destination removes it."""


def remove_stale_temporaries(destination: str | os.PathLike[str]) -> list[Path]:
    """Removes the temporaries a killed write of ``destination`` left; returns what it removed.

    Those are ``.NAME.*`` files and folders older than :data:`STALE_SECONDS`.
    """
    final = Path(destination)
    if not final.parent.is_dir():
        return []
    removed = []
    cutoff = time.time() - STALE_SECONDS
    for leftover in final.parent.glob(f".{final.name}.*"):
        try:
            if leftover.lstat().st_mtime > cutoff:
                continue
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        except FileNotFoundError:
            continue
        removed.append(leftover)
    return removed


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Meanwhile, SIGTERM raises ``SystemExit(143)`` (so ``finally`` blocks run).

    Only when SIGTERM had no handler, and in the main thread (the only one that may set handlers);
    elsewhere SIGTERM keeps its behaviour.
    """
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@functools.cache
def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@contextlib.contextmanager
def atomic_file(destination: str | os.PathLike[str]) -> Iterator[Path]:
    """Yields a temporary path to write; it becomes ``destination`` only if the block succeeds."""
    final = Path(destination)
    final.parent.mkdir(parents=True, exist_ok=True)
    with sigterm_as_exit():
        remove_stale_temporaries(final)
        handle, temporary = tempfile.mkstemp(prefix=f".{final.name}.", dir=final.parent)
        os.close(handle)
        temporary_path = Path(temporary)
        try:
            yield temporary_path
            temporary_path.chmod(0o666 & ~_umask())
            os.replace(temporary_path, final)
        finally:
            temporary_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(destination: str | os.PathLike[str]) -> Iterator[Path]:
    """Yields a temporary folder to fill; it becomes ``destination`` only if the block succeeds.

    An existing ``destination`` is replaced as a whole, never merged with the new content: it is
    renamed aside, the new folder renamed in, and only then is the old one removed.
    """
    final = Path(destination)
    final.parent.mkdir(parents=True, exist_ok=True)
    with sigterm_as_exit():
        remove_stale_temporaries(final)
        temporary = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
        aside = None
        try:
            yield temporary
            temporary.chmod(0o777 & ~_umask())
            if final.exists() or final.is_symlink():
                aside = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
                os.replace(final, aside)
            os.replace(temporary, final)
        except BaseException:
            if aside is not None and not final.exists():
                os.replace(aside, final)  # the new folder never arrived: the old one comes back
                aside = None
            raise
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
            if aside is not None:
                if aside.is_dir() and not aside.is_symlink():
                    shutil.rmtree(aside, ignore_errors=True)
                else:
                    aside.unlink(missing_ok=True)


def write_text(destination: str | os.PathLike[str], text: str) -> None:
    """Writes ``text`` (UTF-8) to ``destination`` atomically."""
    with atomic_file(destination) as temporary:
        temporary.write_text(text, encoding="utf-8")

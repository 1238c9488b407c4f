"""Write outputs so that a failed step leaves nothing a later step could take for a good result.

Everything is first written beside its destination under a temporary name and renamed into place
only when it is complete; on error the temporary file or folder is removed. What is renamed into
place gets the usual permissions (0644 files, 0755 folders, less the umask), not the private ones of
a temporary file, so that a model server running as another user can read a model folder.
"""

import contextlib
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


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

    An existing ``destination`` is replaced as a whole, never merged with the new content.
    """
    final = Path(destination)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield temporary
        temporary.chmod(0o777 & ~_umask())
        if final.is_dir():
            shutil.rmtree(final)
        elif final.exists():
            final.unlink()
        os.replace(temporary, final)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def write_text(destination: str | os.PathLike[str], text: str) -> None:
    """Writes ``text`` (UTF-8) to ``destination`` atomically."""
    with atomic_file(destination) as temporary:
        temporary.write_text(text, encoding="utf-8")

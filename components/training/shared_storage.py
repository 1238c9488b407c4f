"""Storage the step and every training node reach: an object-store URI or a shared volume path.

A location is a URI pyarrow opens (``s3://``, ``gs://``, ``hdfs://``; credentials from the
environment, as pyarrow reads them) or a local path, which on a cluster is a ReadWriteMany
PersistentVolumeClaim mounted at the same path in the step and in the nodes.

Object stores have no rename, so completeness is told by order, not by atomic moves: a Model
folder is copied first and the result file that names it is written after it; readers look for the
result file first.
"""

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs

from kfp_mlops.components.common.atomic import atomic_directory, atomic_file
from kfp_mlops.components.common.errors import ComponentInputError


def join(base: str, *parts: str) -> str:
    """``base`` with ``parts`` appended, ``/``-separated (for URIs and POSIX paths alike)."""
    return "/".join([base.rstrip("/"), *parts])


def _open(location: str) -> tuple[pafs.FileSystem, str]:
    if "://" not in location:
        return pafs.LocalFileSystem(), str(Path(location).resolve())
    try:
        return pafs.FileSystem.from_uri(location)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as error:
        raise ComponentInputError(
            f"shared storage {location!r} cannot be opened: {error}"
        ) from None


def is_local(location: str) -> bool:
    """True for a path (a mounted volume), False for an object-store URI."""
    return "://" not in location


def upload_file(source: str, destination: str) -> None:
    """Copies the local file ``source`` to ``destination`` (path or URI)."""
    if is_local(destination):
        with atomic_file(destination) as temporary:
            shutil.copyfile(source, temporary)
        return
    filesystem, path = _open(destination)
    try:
        filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
        pafs.copy_files(source, path, destination_filesystem=filesystem)
    except OSError as error:
        raise ComponentInputError(f"cannot write {destination}: {error}") from None


def upload_directory(source: str, destination: str) -> None:
    """Copies the local folder ``source`` to ``destination`` as a whole (replacing it)."""
    if is_local(destination):
        with atomic_directory(destination) as temporary:
            shutil.copytree(source, temporary, dirs_exist_ok=True)
        return
    filesystem, path = _open(destination)
    try:
        filesystem.delete_dir_contents(path, missing_dir_ok=True)
        filesystem.create_dir(path, recursive=True)
        pafs.copy_files(source, path, destination_filesystem=filesystem)
    except OSError as error:
        raise ComponentInputError(f"cannot write the folder {destination}: {error}") from None


def download_directory(source: str, destination: str) -> None:
    """Copies the folder ``source`` (path or URI) into the local folder ``destination``."""
    filesystem, path = _open(source)
    if filesystem.get_file_info(path).type != pafs.FileType.Directory:
        raise ComponentInputError(f"no folder at {source}")
    with atomic_directory(destination) as temporary:
        pafs.copy_files(path, str(temporary), source_filesystem=filesystem)


def write_text(destination: str, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``destination``; a local file appears whole or not at all."""
    if is_local(destination):
        with atomic_file(destination) as temporary:
            temporary.write_text(text, encoding="utf-8")
        return
    filesystem, path = _open(destination)
    try:
        filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
        with filesystem.open_output_stream(path) as stream:
            stream.write(text.encode("utf-8"))
    except OSError as error:
        raise ComponentInputError(f"cannot write {destination}: {error}") from None


def read_text(source: str) -> str | None:
    """The text at ``source``, or None when there is no such file."""
    filesystem, path = _open(source)
    if filesystem.get_file_info(path).type != pafs.FileType.File:
        return None
    with filesystem.open_input_stream(path) as stream:
        return stream.read().decode("utf-8")


def delete_directory(location: str) -> None:
    """Removes the folder ``location`` and what it holds; nothing when it is absent."""
    filesystem, path = _open(location)
    if filesystem.get_file_info(path).type == pafs.FileType.Directory:
        filesystem.delete_dir(path)

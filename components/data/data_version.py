"""The version of the data behind a URI: what ingest's cache key follows.

KFP caches a task by its component, parameters and input artifacts; a URI alone says nothing about
the content behind it. :func:`resolve_data_version` turns a URI into a string that changes exactly
when the content does (or, on object storage, when the object is rewritten), and the pipelines pass
it to ``ingest_dataset``, so ingest and every step after it are answered from the cache only while
the data is unchanged.

- A local file: its size, modification time and the SHA-256 of its bytes are recorded; the version
  is the content hash, so a file touched but not changed keeps its version (and its cache).
- Object storage (``s3://``, ``gs://``): pyarrow's ``FileInfo`` carries no ETag, generation or
  version id, only size and modification time (arrow/cpp/src/arrow/filesystem/s3fs.cc,
  ``FileObjectToInfo``: ``GetContentLength`` and ``GetLastModified``; gcsfs.cc: ``size`` and
  ``updated``; pyarrow 25). The version is made of those two, without reading the object: every PUT
  sets a new LastModified, so a rewritten object gets a new version; a rewrite of the same size
  within the same second (S3's LastModified has second resolution) would not be seen.
- A directory (a partitioned dataset): the same over the data files ingest reads there
  (:func:`.sources.locate`: hidden ``.``/``_`` names and empty markers left out, as
  ``pyarrow.dataset`` does by default), so a changed, added, removed or renamed file gives a new
  version.
"""

import datetime
import hashlib
import json

import pyarrow as pa
import pyarrow.fs as pafs

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.data.sources import locate, read_error

_CHUNK = 1 << 20


def _content_hash(filesystem: pafs.FileSystem, path: str) -> str:
    digest = hashlib.sha256()
    with filesystem.open_input_stream(path) as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _describe(filesystem: pafs.FileSystem, info: pafs.FileInfo, local: bool) -> dict[str, object]:
    entry: dict[str, object] = {"size": info.size, "mtime_ns": info.mtime_ns}
    if local:
        entry["sha256"] = _content_hash(filesystem, info.path)
    return entry


def resolve_data_version(source_uri: str) -> dict[str, object]:
    """The version of the content at ``source_uri``, and what it was computed from.

    Args:
        source_uri: A local path (file or directory) or a URI pyarrow's filesystems understand
            (``file://``, ``s3://``, ``gs://``).

    Returns:
        ``data_version`` (``sha256:<hex>`` for local content, ``objects:<hex>`` on object storage,
        where it is derived from sizes and modification times), ``files`` (how many files it
        covers), ``bytes`` (their total size) and ``modified`` (the latest modification time, ISO
        8601 UTC).

    Raises:
        ComponentInputError: Nothing is at the URI, or a directory holds no data file.
        ExternalSystemError: The object store cannot be reached or failed (one line naming the
            URI).
    """
    source = locate(source_uri)
    filesystem = source.filesystem
    local = isinstance(filesystem, pafs.LocalFileSystem)
    try:
        files = {
            source.display(info.path): _describe(filesystem, info, local)
            for info in filesystem.get_file_info(source.files)
        }
    except (pa.ArrowException, OSError) as error:
        raise read_error(source_uri, error, f"cannot read {source_uri!r}: {error}") from error
    if local:
        # The content alone: a file rewritten with the same bytes keeps its version.
        manifest = {name: entry["sha256"] for name, entry in files.items()}
    else:
        manifest = {name: [entry["size"], entry["mtime_ns"]] for name, entry in files.items()}
    digest = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode("utf-8")).hexdigest()
    if local and not source.is_directory:
        [entry] = files.values()
        digest = str(entry["sha256"])  # one file: the hash of its bytes, as sha256sum gives
    latest_ns = max(int(entry["mtime_ns"]) for entry in files.values())
    return {
        "data_version": f"{'sha256' if local else 'objects'}:{digest}",
        "files": len(files),
        "bytes": sum(int(entry["size"]) for entry in files.values()),
        "modified": datetime.datetime.fromtimestamp(latest_ns / 1e9, datetime.UTC).isoformat(),
    }


def check_unchanged(source_uri: str, data_version: str) -> None:
    """Fails when the data at ``source_uri`` no longer has ``data_version``.

    Ingest calls it after reading: data rewritten between the version step and the end of ingest
    would otherwise be stored (and cached) under the version it had before.

    Raises:
        ComponentInputError: The version changed; running again ingests the new data.
    """
    now = resolve_data_version(source_uri)["data_version"]
    if now != data_version:
        raise ComponentInputError(
            f"{source_uri} changed while it was ingested (version {data_version} when the run "
            f"started, {now} now); run again to ingest the new data"
        )

"""Where a ``data_uri`` points: one file, or the data files under a folder or object prefix."""

import dataclasses
import re

import pyarrow as pa
import pyarrow.fs as pafs

from kfp_mlops.components.common.errors import (
    ComponentError,
    ComponentInputError,
    ExternalSystemError,
)
from kfp_mlops.components.common.uris import check_no_credentials


@dataclasses.dataclass(frozen=True)
class Source:
    """The files of a data source, on the filesystem its URI names.

    Attributes:
        uri: The URI or path as the user gave it.
        filesystem: The pyarrow filesystem the URI names (with its options, such as an S3
            ``endpoint_override``; credentials come from the environment).
        path: The file or folder on that filesystem.
        is_directory: Whether the source is a folder (or prefix) of files.
        files: The data files, sorted by path: hidden files (``.`` or ``_`` at the start of a path
            part, such as ``_SUCCESS``) and empty object-store folder markers left out.
    """

    uri: str
    filesystem: pafs.FileSystem
    path: str
    is_directory: bool
    files: list[str]

    def display(self, path: str) -> str:
        """A file of the source as the user would name it: the source URI and its relative path."""
        if not self.is_directory or not path.startswith(self.path.rstrip("/") + "/"):
            return self.uri if path == self.path else path
        relative = path[len(self.path.rstrip("/")) + 1 :]
        return f"{self.uri.split('?', 1)[0].rstrip('/')}/{relative}"


# How pyarrow reports an S3 request that failed: an OSError whose message holds
# "AWS Error <S3Errors name> during <operation> operation: ...", with "UNKNOWN (HTTP status <n>)"
# for an answer the SDK does not name (arrow/cpp/src/arrow/filesystem/s3_internal.h,
# ``ErrorToStatus`` and ``S3ErrorToString``; pyarrow 25.0.1). These names say the store was not
# reached, failed or asked to slow down: the input may be fine, and retrying may help.
_STORE_FAILED = re.compile(
    r"AWS Error (NETWORK_CONNECTION|SERVICE_UNAVAILABLE|INTERNAL_FAILURE|SLOW_DOWN|THROTTLING"
    r"|REQUEST_TIMEOUT|UNKNOWN \(HTTP status (429|5\d\d)\)) "
)


def read_error(source_uri: str, error: BaseException, message: str) -> ComponentError:
    """The one-line error for ``error`` raised while reading ``source_uri``.

    An :class:`ExternalSystemError` naming the URI when the object store could not be reached or
    failed (see ``_STORE_FAILED``), else a :class:`ComponentInputError` with ``message``.
    """
    if isinstance(error, OSError) and _STORE_FAILED.search(str(error)):
        return ExternalSystemError(f"cannot reach the object store of {source_uri}: {error}")
    return ComponentInputError(message)


def _open_filesystem(source_uri: str) -> tuple[pafs.FileSystem, str]:
    try:
        return pafs.FileSystem.from_uri(source_uri)
    except pa.ArrowInvalid:
        if "://" in source_uri:
            raise ComponentInputError(
                f"cannot open {source_uri!r}: not a URI pyarrow reads"
            ) from None
        # A plain path (relative, or with characters a URI may not hold) is a local file.
        return pafs.LocalFileSystem(), source_uri
    except (pa.ArrowException, OSError) as error:
        raise read_error(source_uri, error, f"cannot open {source_uri!r}: {error}") from error


def _hidden(relative: str) -> bool:
    return any(part.startswith((".", "_")) for part in relative.split("/"))


def locate(source_uri: str) -> Source:
    """The file, or the data files under the folder or prefix, that ``source_uri`` names.

    Raises:
        ComponentInputError: The URI carries a credential (it would be stored in the Dataset's
            metadata and printed in errors: credentials come from the environment), nothing is
            there, the file is empty, or the folder holds no data file.
        ExternalSystemError: The object store cannot be reached or failed.
    """
    check_no_credentials(source_uri, "data_uri")
    filesystem, path = _open_filesystem(source_uri)
    try:
        info = filesystem.get_file_info(path)
        if info.type == pafs.FileType.Directory:
            found = filesystem.get_file_info(pafs.FileSelector(path, recursive=True))
        else:
            found = []
    except (pa.ArrowException, OSError) as error:
        raise read_error(source_uri, error, f"cannot open {source_uri!r}: {error}") from error
    if info.type == pafs.FileType.NotFound:
        raise ComponentInputError(f"input file not found: {source_uri}")
    if info.type == pafs.FileType.File:
        if info.size == 0:
            raise ComponentInputError(f"input file {source_uri} is empty (0 bytes)")
        return Source(source_uri, filesystem, path, is_directory=False, files=[path])
    base = path.rstrip("/") + "/"
    files = sorted(
        entry.path
        for entry in found
        if entry.type == pafs.FileType.File
        and entry.size
        and not _hidden(entry.path[len(base) :] if entry.path.startswith(base) else entry.path)
    )
    if not files:
        raise ComponentInputError(f"input folder {source_uri} holds no data file")
    return Source(source_uri, filesystem, path, is_directory=True, files=files)

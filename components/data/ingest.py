"""Read a CSV or Parquet file from a local path or a URI (s3://, gs://, file://) with pyarrow."""

import contextlib
import re

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.tables import as_stored, write_datasets

FORMATS = ("csv", "parquet")
_SUFFIXES = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".csv.bz2": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def detect_format(source_uri: str, file_format: str | None = None) -> str:
    """The format named by ``file_format``, or else by the file name's suffix."""
    if file_format is not None:
        if file_format not in FORMATS:
            raise ComponentInputError(
                f"file_format {file_format!r} is not supported; use one of: {', '.join(FORMATS)}"
            )
        return file_format
    lowered = source_uri.lower()
    for suffix, detected in _SUFFIXES.items():
        if lowered.endswith(suffix):
            return detected
    raise ComponentInputError(
        f"cannot tell the format of {source_uri!r} from its name; "
        f"pass file_format (one of: {', '.join(FORMATS)})"
    )


def _open_filesystem(source_uri: str) -> tuple[pafs.FileSystem, str]:
    try:
        return pafs.FileSystem.from_uri(source_uri)
    except pa.ArrowInvalid:
        # A plain path (relative, or with characters a URI may not hold) is a local file.
        return pafs.LocalFileSystem(), source_uri
    except (pa.ArrowException, OSError) as error:
        raise ComponentInputError(f"cannot open {source_uri!r}: {error}") from error


def _parse_types(column_types: dict[str, str]) -> dict[str, pa.DataType]:
    parsed = {}
    for column, type_name in column_types.items():
        try:
            parsed[column] = pa.type_for_alias(type_name)
        except ValueError as error:
            raise ComponentInputError(
                f"column_types[{column!r}] = {type_name!r} is not an Arrow type name "
                "(e.g. int64, float64, string, bool, timestamp[s])"
            ) from error
    return parsed


def _read_csv(
    filesystem: pafs.FileSystem, path: str, source_uri: str, types: dict[str, pa.DataType]
) -> pa.Table:
    """Reads a CSV file, parsing each column as the type its first block of rows suggests.

    With every column's type named, pyarrow converts and releases each block of text as it goes:
    about half the memory and time of inferring types over the whole file, for which it keeps all
    the text until the end in case a later value changes a column's type. When a later value does
    not fit the type its first block suggests, the file is read again with that full inference.
    """
    with filesystem.open_input_stream(path, compression="detect") as stream:
        guessed = pacsv.open_csv(stream).schema
    missing = sorted(set(types) - set(guessed.names))
    if missing:
        raise ComponentInputError(
            f"column_types names columns that {source_uri} does not have: {missing}"
        )
    with contextlib.suppress(pa.ArrowInvalid):
        return _read_csv_as(filesystem, path, {field.name: field.type for field in guessed} | types)
    try:
        return _read_csv_as(filesystem, path, types)
    except pa.ArrowInvalid as error:
        raise _name_csv_column(error, guessed.names) from error


def _read_csv_as(filesystem: pafs.FileSystem, path: str, types: dict[str, pa.DataType]) -> pa.Table:
    with filesystem.open_input_stream(path, compression="detect") as stream:
        return pacsv.read_csv(
            stream,
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
        )


def _name_csv_column(error: pa.ArrowInvalid, names: list[str]) -> pa.ArrowInvalid:
    """The error with pyarrow's ``CSV column #3`` replaced by the column's name."""
    message = re.sub(
        r"CSV column #(\d+)",
        lambda match: (
            f"CSV column {names[int(match.group(1))]!r}"
            if int(match.group(1)) < len(names)
            else match.group(0)
        ),
        str(error),
    )
    return pa.ArrowInvalid(message)


def _read_parquet(
    filesystem: pafs.FileSystem, path: str, source_uri: str, types: dict[str, pa.DataType]
) -> pa.Table:
    table = pq.read_table(path, filesystem=filesystem)
    missing = sorted(set(types) - set(table.column_names))
    if missing:
        raise ComponentInputError(
            f"column_types names columns that {source_uri} does not have: {missing}"
        )
    if not types:
        return table
    return table.cast(
        pa.schema([field.with_type(types.get(field.name, field.type)) for field in table.schema])
    )


def read_source(
    source_uri: str,
    file_format: str | None = None,
    column_types: dict[str, str] | None = None,
) -> pa.Table:
    """Reads ``source_uri`` into an Arrow table.

    Args:
        source_uri: A local path or a URI that pyarrow's filesystems understand (s3://, gs://,
            file://).
        file_format: ``csv`` or ``parquet``; by default taken from the file name's suffix.
        column_types: Column name to Arrow type name (``float64``, ``int64``, ``string``...); CSV
            columns are parsed as these types, Parquet columns are cast to them.

    An empty CSV field is a missing value (null) in every column, text columns included, as it is
    when pandas reads the file; a CSV and a Parquet file of the same data give equal tables.

    Raises:
        ComponentInputError: The file is missing, empty, unreadable, has no data rows, lacks a
            column named in ``column_types``, or a value does not parse as its column's type.
    """
    detected = detect_format(source_uri, file_format)
    types = _parse_types(column_types or {})
    filesystem, path = _open_filesystem(source_uri)
    try:
        info = filesystem.get_file_info(path)
    except (pa.ArrowException, OSError) as error:
        raise ComponentInputError(f"cannot open {source_uri!r}: {error}") from error
    if info.type == pafs.FileType.NotFound:
        raise ComponentInputError(f"input file not found: {source_uri}")
    if info.type != pafs.FileType.File:
        raise ComponentInputError(f"input {source_uri} is not a file")
    if info.size == 0:
        raise ComponentInputError(f"input file {source_uri} is empty (0 bytes)")

    read = _read_csv if detected == "csv" else _read_parquet
    try:
        table = read(filesystem, path, source_uri, types)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError) as error:
        # OSError: a damaged compressed file, a permission refused, a connection lost.
        reason = " ".join(str(error).split())
        raise ComponentInputError(f"cannot read {source_uri} as {detected}: {reason}") from error
    if table.num_rows == 0:
        raise ComponentInputError(f"input file {source_uri} has a header but no data rows")
    return table


def ingest_to_parquet(
    source_uri: str,
    output_path: str,
    file_format: str | None = None,
    column_types: dict[str, str] | None = None,
) -> dict[str, object]:
    """Reads ``source_uri`` and writes it to ``output_path`` as Parquet; returns its metadata."""
    table = as_stored(read_source(source_uri, file_format, column_types))
    [metadata] = write_datasets({output_path: table})
    return {**metadata, "source_uri": source_uri}

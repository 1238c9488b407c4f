"""Read a CSV or Parquet file from a local path or a URI (s3://, gs://, file://) with pyarrow."""

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from kfp_mlops.components.data.tables import dataset_metadata, write_parquet
from kfp_mlops.components.errors import ComponentInputError

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


def read_source(
    source_uri: str,
    file_format: str | None = None,
    column_types: dict[str, str] | None = None,
) -> pa.Table:
    """Reads ``source_uri`` into an Arrow table.

    Args:
        source_uri: A local path or a URI that pyarrow's filesystems understand (s3://, gs://, file://).
        file_format: ``csv`` or ``parquet``; by default taken from the file name's suffix.
        column_types: Column name to Arrow type name (``float64``, ``int64``, ``string``...); CSV
            columns are parsed as these types, Parquet columns are cast to them.

    Raises:
        ComponentInputError: The file is missing, empty, unreadable, has no data rows, or a value does
            not parse as the type asked for its column.
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

    try:
        if detected == "csv":
            with filesystem.open_input_stream(path, compression="detect") as stream:
                table = pacsv.read_csv(
                    stream, convert_options=pacsv.ConvertOptions(column_types=types)
                )
        else:
            table = pq.read_table(path, filesystem=filesystem)
            if types:
                missing = sorted(set(types) - set(table.column_names))
                if missing:
                    raise ComponentInputError(
                        f"column_types names columns that {source_uri} does not have: {missing}"
                    )
                table = table.cast(
                    pa.schema(
                        [field.with_type(types.get(field.name, field.type)) for field in table.schema]
                    )
                )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
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
    """Reads ``source_uri`` and writes it to ``output_path`` as Parquet; returns the artifact metadata."""
    table = read_source(source_uri, file_format, column_types)
    write_parquet(table, output_path)
    return {**dataset_metadata(table), "source_uri": source_uri}

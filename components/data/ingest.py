"""Read CSV or Parquet: a file, a folder or a Hive-partitioned dataset, local or s3:// or gs://."""

import os
import re
import urllib.parse
from collections.abc import Callable, Iterator
from typing import TypeVar

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from kfp_mlops.components.common.errors import ComponentError, ComponentInputError
from kfp_mlops.components.common.tables import BATCH_ROWS, as_stored, open_datasets
from kfp_mlops.components.data.sources import Source, locate, read_error

FORMATS = ("csv", "parquet")
_SUFFIXES = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".csv.bz2": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
T = TypeVar("T")
_DELIMITERS = (",", ";", "\t", "|")
_WIDER = {"int64": pa.float64(), "float64": pa.string()}
"""The type a guessed CSV column is read as when a later value does not fit the guess."""


def uri_path(source_uri: str) -> str:
    """The path part of a URI (its query and fragment dropped), or a plain path as it is."""
    if "://" not in source_uri:
        return source_uri
    return urllib.parse.urlsplit(source_uri).path


def detect_format(source_uri: str, file_format: str | None = None) -> str:
    """The format named by ``file_format``, or else by the suffix of the URI's path.

    The suffix is read from the parsed path, not the raw string: ``file:///etc/passwd?x=.csv`` names
    no CSV file, and ``s3://bucket/k.csv?endpoint_override=...`` names one.
    """
    if file_format is not None:
        if file_format not in FORMATS:
            raise ComponentInputError(
                f"file_format {file_format!r} is not supported; use one of: {', '.join(FORMATS)}"
            )
        return file_format
    lowered = uri_path(source_uri).lower()
    for suffix, detected in _SUFFIXES.items():
        if lowered.endswith(suffix):
            return detected
    raise ComponentInputError(
        f"cannot tell the format of {source_uri!r} from its name; "
        f"pass file_format (one of: {', '.join(FORMATS)})"
    )


def _dataset_format(source: Source, file_format: str | None) -> str:
    """One format for every file: ``file_format``, or the suffix they all share."""
    if file_format is not None or not source.is_directory:
        return detect_format(source.files[0] if source.is_directory else source.uri, file_format)
    formats = {}
    for path in source.files:
        try:
            formats.setdefault(detect_format(path), path)
        except ComponentInputError as error:
            raise ComponentInputError(
                f"cannot tell the format of {source.display(path)} in {source.uri} from its name; "
                f"pass file_format (one of: {', '.join(FORMATS)})"
            ) from error
    if len(formats) > 1:
        raise ComponentInputError(
            f"{source.uri} mixes formats ({', '.join(sorted(formats))}): e.g. "
            + ", ".join(source.display(path) for path in formats.values())
        )
    return next(iter(formats))


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


def _first_line(filesystem: pafs.FileSystem, path: str) -> str:
    with filesystem.open_input_stream(path, compression="detect") as stream:
        head = stream.read(65_536)
    return head.split(b"\n", 1)[0].decode("utf-8", errors="replace")


def sniff_delimiter(header: str) -> str:
    """The delimiter a CSV header line uses: the comma, or the one of ``; TAB |`` it has most of."""
    counts = {delimiter: header.count(delimiter) for delimiter in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda delimiter: counts[delimiter])
    return "," if counts[","] or not counts[best] else best


def _duplicates(names: list[str], where: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise ComponentInputError(
                f"column {name!r} appears more than once in {where}; column names must be unique"
            )
        seen.add(name)


class _Reader:
    """The files of one source as a pyarrow dataset with one schema, read in record batches."""

    def __init__(self, source: Source, data_format: str, types: dict[str, pa.DataType]):
        self.source = source
        self.format = data_format
        self.user_types = types
        self.csv_types: dict[str, pa.DataType] = {}
        self.partitioning = (
            ds.HivePartitioning.discover(infer_dictionary=False) if source.is_directory else None
        )
        if data_format == "csv":
            first = source.files[0]
            try:
                self.delimiter = sniff_delimiter(_first_line(source.filesystem, first))
            except OSError as error:
                raise self.error(error, first) from error
            guessed = self._guess_csv_schema(first)
            missing = sorted(set(types) - set(guessed.names))
            if missing:
                raise ComponentInputError(
                    f"column_types names columns that {source.uri} does not have: {missing}"
                )
            self.csv_types = {field.name: field.type for field in guessed} | types
        self.dataset = self._dataset()
        self._check_files()

    def _guess_csv_schema(self, path: str) -> pa.Schema:
        try:
            with self.source.filesystem.open_input_stream(path, compression="detect") as stream:
                schema = pacsv.open_csv(
                    stream, parse_options=pacsv.ParseOptions(delimiter=self.delimiter)
                ).schema
        except (pa.ArrowInvalid, OSError) as error:
            raise self.error(error, path) from error
        _duplicates(schema.names, f"the header of {self.source.display(path)}")
        return schema

    def _file_format(self) -> ds.FileFormat:
        if self.format == "parquet":
            return ds.ParquetFileFormat()
        return ds.CsvFileFormat(
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types=self.csv_types, strings_can_be_null=True
            ),
            read_options=pacsv.ReadOptions(block_size=1 << 20),
        )

    def _dataset(self) -> ds.Dataset:
        while True:
            try:
                return ds.dataset(
                    self.source.files,
                    filesystem=self.source.filesystem,
                    format=self._file_format(),
                    partitioning=self.partitioning,
                    partition_base_dir=self.source.path if self.source.is_directory else None,
                )
            except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as error:
                # Making the dataset converts the first block of the first file.
                if not (isinstance(error, pa.ArrowInvalid) and self._widen_column(error)):
                    raise self.error(error) from error

    def _check_files(self) -> None:
        """Every file has the first file's columns (and, for Parquet, their types)."""
        fragments = list(self.dataset.get_fragments())
        first = None
        for fragment in fragments:
            try:
                schema = (
                    fragment.physical_schema
                    if self.format == "parquet"
                    else self._guess_csv_schema(fragment.path)
                )
            except (pa.ArrowInvalid, OSError) as error:
                raise self.error(error, fragment.path) from error
            _duplicates(schema.names, self.source.display(fragment.path))
            if first is None:
                first = (fragment.path, schema)
                continue
            _compare(
                self.source, first, (fragment.path, schema), compare_types=self.format == "parquet"
            )
        partition_names = set(self.dataset.schema.names) - set(first[1].names if first else [])
        _duplicates(list(first[1].names if first else []) + sorted(partition_names), "the dataset")

    def schema(self) -> pa.Schema:
        """The schema of the rows read: the files' columns, then the partition columns."""
        schema = self.dataset.schema
        if self.format == "parquet" and self.user_types:
            missing = sorted(set(self.user_types) - set(schema.names))
            if missing:
                raise ComponentInputError(
                    f"column_types names columns that {self.source.uri} does not have: {missing}"
                )
            schema = pa.schema(
                [field.with_type(self.user_types.get(field.name, field.type)) for field in schema]
            )
        return schema.remove_metadata()

    def batches(self, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
        """The rows, cast to ``schema``, :data:`BATCH_ROWS` or fewer at a time, in file order."""
        scanner = self.dataset.scanner(
            batch_size=BATCH_ROWS, batch_readahead=1, fragment_readahead=1
        )
        for batch in scanner.to_batches():
            if batch.num_rows:
                yield _cast(batch, schema)

    def widen(self, error: pa.ArrowInvalid) -> bool:
        """Reads again with a wider type the guessed CSV column a later value did not fit."""
        if not self._widen_column(error):
            return False
        self.dataset = self._dataset()
        return True

    def _widen_column(self, error: pa.ArrowInvalid) -> bool:
        match = re.search(r"CSV column #(\d+)", str(error))
        if self.format != "csv" or match is None:
            return False
        names = list(self.csv_types)
        index = int(match.group(1))
        if index >= len(names) or names[index] in self.user_types:
            return False
        wider = _WIDER.get(str(self.csv_types[names[index]]), pa.string())
        if self.csv_types[names[index]] == wider:
            return False
        self.csv_types[names[index]] = wider
        return True

    def error(self, error: Exception, path: str | None = None) -> ComponentError:
        """A one-line error naming the file and column, never quoting the file's content.

        An :class:`ExternalSystemError` when the object store could not be reached or failed.
        """
        where = self.source.uri if path is None else self.source.display(path)
        names = list(self.csv_types) if self.format == "csv" else []
        return read_error(
            where, error, f"cannot read {where} as {self.format}: {describe(error, names)}"
        )


def describe(error: Exception, names: list[str]) -> str:
    """The message pyarrow gave about a file, column numbers named and quoted content removed."""
    message = " ".join(str(error).split())
    message = re.sub(
        r"Error creating dataset\. Could not read schema from '[^']*'\. Is this a '\w+' file\?: ",
        "",
        message,
    )
    message = re.sub(r"Could not open \w+ input source '[^']*': (\w+: )?", "", message)
    message = re.sub(
        r"CSV column #(\d+)",
        lambda match: (
            f"CSV column {names[int(match.group(1))]!r}"
            if int(match.group(1)) < len(names)
            else match.group(0)
        ),
        message,
    )
    # pyarrow quotes the value that failed ("invalid value 'x'") or the row ("got 3: a,b,c").
    message = re.sub(r": invalid value .*$", ": a value does not parse as this type", message)
    message = re.sub(r"(Expected \d+ columns?, got \d+):.*$", r"\1", message)
    message = re.sub(
        r"Failed to parse string: .*? as a scalar", "a value does not parse as a scalar", message
    )
    return message


def _compare(
    source: Source,
    first: tuple[str, pa.Schema],
    other: tuple[str, pa.Schema],
    compare_types: bool,
) -> None:
    (first_path, first_schema), (path, schema) = first, other
    for name in schema.names:
        if name not in first_schema.names:
            raise ComponentInputError(
                f"{source.display(path)} has column {name!r}, which {source.display(first_path)} "
                "lacks: every file of a dataset needs the same columns"
            )
    for field in first_schema:
        if field.name not in schema.names:
            raise ComponentInputError(
                f"{source.display(path)} lacks column {field.name!r}, which "
                f"{source.display(first_path)} has: every file of a dataset needs the same columns"
            )
        kind = schema.field(field.name).type
        if compare_types and kind != field.type and not pa.types.is_null(kind):
            raise ComponentInputError(
                f"column {field.name!r} is {kind} in {source.display(path)} but {field.type} in "
                f"{source.display(first_path)}: every file of a dataset needs the same types"
            )


def _cast(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    if batch.schema.equals(schema):
        return batch
    columns = []
    for field in schema:
        column = batch.column(field.name)
        try:
            columns.append(column.cast(field.type) if column.type != field.type else column)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise ComponentInputError(
                f"column {field.name!r} does not convert from {column.type} to {field.type}: "
                f"{describe(error, [])}"
            ) from error
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def open_source(
    source_uri: str,
    file_format: str | None = None,
    column_types: dict[str, str] | None = None,
) -> _Reader:
    """The files ``source_uri`` names, ready to be read in batches."""
    types = _parse_types(column_types or {})
    source = locate(source_uri)
    data_format = _dataset_format(source, file_format)
    return _Reader(source, data_format, types)


def stream_source(
    source_uri: str,
    file_format: str | None,
    column_types: dict[str, str] | None,
    consume: Callable[[pa.Schema, Iterator[pa.RecordBatch]], T],
    stored: bool = True,
) -> T:
    """Reads the source in batches into ``consume(schema, batches)``, retrying with wider CSV types.

    ``consume`` is called again from the start when a CSV value far into the data does not fit the
    type guessed from the first block (an integer column that holds a decimal, a number column that
    holds a word), with that column read as the next wider type (float64, then string).
    """
    reader = open_source(source_uri, file_format, column_types)
    while True:
        schema = reader.schema()
        if stored:  # the types that reading the written Parquet file back gives
            schema = as_stored(schema.empty_table()).schema
        try:
            return consume(schema, reader.batches(schema))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OSError) as error:
            # OSError: a damaged compressed file, a permission refused, a connection lost.
            if isinstance(error, pa.ArrowInvalid) and reader.widen(error):
                continue
            raise reader.error(error) from error


def read_source(
    source_uri: str,
    file_format: str | None = None,
    column_types: dict[str, str] | None = None,
) -> pa.Table:
    """Reads ``source_uri`` into one Arrow table (small data; :func:`ingest_to_parquet` streams).

    Args:
        source_uri: A file, a folder of files or a Hive-partitioned dataset (``key=value`` folders,
            whose keys become typed columns), as a local path or a URI that pyarrow's filesystems
            understand (``s3://``, ``gs://``, ``file://``, with options such as
            ``?endpoint_override=host:port&scheme=http``).
        file_format: ``csv`` or ``parquet``; by default taken from the files' suffix.
        column_types: Column name to Arrow type name (``float64``, ``int64``, ``string``...); CSV
            columns are parsed as these types, Parquet columns are cast to them.

    An empty CSV field is a missing value (null) in every column, text columns included, as it is
    when pandas reads the file; a CSV and a Parquet file of the same data give equal tables.

    Raises:
        ComponentInputError: The source is missing, empty, unreadable, has no data rows, files with
            different columns, a duplicated column name, lacks a column named in ``column_types``,
            or a value does not parse as its column's type.
        ExternalSystemError: The object store cannot be reached or failed (one line naming the
            URI); nothing is written.
    """

    def collect(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> pa.Table:
        return pa.Table.from_batches(list(batches), schema)

    table = stream_source(source_uri, file_format, column_types, collect, stored=False)
    if table.num_rows == 0:
        raise ComponentInputError(f"input {source_uri} has a header but no data rows")
    return table


def ingest_to_parquet(
    source_uri: str,
    output_path: str | os.PathLike[str],
    file_format: str | None = None,
    column_types: dict[str, str] | None = None,
) -> dict[str, object]:
    """Reads ``source_uri`` and writes it to ``output_path`` as Parquet; returns its metadata.

    It reads as :func:`read_source` does, a batch at a time (memory does not grow with the rows).
    """

    def write(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> dict[str, object]:
        with open_datasets({output_path: schema}) as [writer]:
            for batch in batches:
                writer.write(batch)
            if writer.rows == 0:
                raise ComponentInputError(f"input {source_uri} has a header but no data rows")
            return writer.close()

    metadata = stream_source(source_uri, file_format, column_types, write)
    return {**metadata, "source_uri": source_uri}

"""Reading and writing the Parquet files that carry datasets between steps; their fingerprints."""

import contextlib
import difflib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from kfp_mlops.components.common.atomic import atomic_file
from kfp_mlops.components.common.errors import ComponentInputError


def read_parquet(path: str | os.PathLike[str], columns: list[str] | None = None) -> pa.Table:
    """Reads a dataset written by an earlier step, naming the path when it is not a Parquet file.

    Column chunks are read as they are decoded (``pre_buffer=False``) rather than all first, which
    keeps the memory needed near the size of the table instead of near twice that.
    """
    try:
        return pq.read_table(path, columns=columns, pre_buffer=False)
    except FileNotFoundError as error:
        raise ComponentInputError(f"dataset file not found: {path}") from error
    except (pa.ArrowInvalid, OSError) as error:
        raise ComponentInputError(f"cannot read {path} as Parquet: {error}") from error


BATCH_ROWS = 65_536
"""Rows in each record batch that the data steps stream: their memory does not grow with the
dataset's rows, only with this and the number of columns."""

ROW_GROUP_ROWS = 262_144
"""Rows in each Parquet row group the data steps write (the last group of a file may be smaller)."""


def parquet_schema(path: str | os.PathLike[str]) -> pa.Schema:
    """The schema of a dataset written by an earlier step, read from the file's footer only."""
    try:
        return pq.read_schema(path)
    except FileNotFoundError as error:
        raise ComponentInputError(f"dataset file not found: {path}") from error
    except (pa.ArrowInvalid, OSError) as error:
        raise ComponentInputError(f"cannot read {path} as Parquet: {error}") from error


def iter_batches(
    path: str | os.PathLike[str], columns: list[str] | None = None, batch_size: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """The rows of a dataset written by an earlier step, ``batch_size`` at a time.

    Batches span row groups, so every batch but the last has ``batch_size`` rows whatever the file's
    layout: a computation that depends on batch boundaries gives the same result on the same rows.
    """
    try:
        parquet = pq.ParquetFile(path, pre_buffer=False)
    except FileNotFoundError as error:
        raise ComponentInputError(f"dataset file not found: {path}") from error
    except (pa.ArrowInvalid, OSError) as error:
        raise ComponentInputError(f"cannot read {path} as Parquet: {error}") from error
    with parquet:
        yield from parquet.iter_batches(batch_size=batch_size, columns=columns)


def closest_names(name: str, names: list[str], shown: int = 8) -> str:
    """``names`` for an error message: all when few, else the closest to ``name`` and the count.

    A line that lists dozens of columns is unreadable, so past ``shown`` names only those
    :func:`difflib.get_close_matches` finds are given.
    """
    if len(names) <= shown:
        return "the columns are: " + ", ".join(names)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    nearest = f"the closest are: {', '.join(close)}" if close else "none is close"
    return f"{nearest} (of {len(names)} columns)"


class Fingerprint:
    """The :func:`fingerprint` of a table, worked out from its record batches one at a time."""

    def __init__(self, schema: pa.Schema) -> None:
        self._schema = schema
        self._rows = 0
        self._streams = [
            [hashlib.sha256(), hashlib.sha256(), hashlib.sha256()] for _ in schema.names
        ]
        self._nulls = [0] * len(schema.names)
        self._valid_pending = [0] * len(schema.names)

    def update(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Feeds the next rows (a batch, or a table in order)."""
        self._rows += batch.num_rows
        for index, column in enumerate(batch.columns):
            chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
            _, lengths, values = self._streams[index]
            for chunk in chunks:
                self._feed_validity(index, chunk)
                _hash_values(chunk.drop_null() if chunk.null_count else chunk, lengths, values)

    def _feed_validity(self, index: int, chunk: pa.Array) -> None:
        # A column's validity is hashed only if it has a null anywhere; until the first null, the
        # rows seen are counted rather than hashed (all of them valid: one 1 byte a row).
        if not chunk.null_count:
            if self._nulls[index]:
                self._streams[index][0].update(np.ones(len(chunk), dtype=np.bool_))
            else:
                self._valid_pending[index] += len(chunk)
            return
        validity = self._streams[index][0]
        if not self._nulls[index]:
            validity.update(np.ones(self._valid_pending[index], dtype=np.bool_))
        self._nulls[index] += chunk.null_count
        validity.update(chunk.is_valid().to_numpy(zero_copy_only=False))

    def hexdigest(self) -> str:
        """The fingerprint of every row fed so far, as :func:`fingerprint` writes it."""
        digest = hashlib.sha256(f"rows={self._rows}\n".encode())
        for field, streams, nulls in zip(self._schema, self._streams, self._nulls, strict=True):
            digest.update(json.dumps([field.name, str(field.type)]).encode() + b"\n")
            validity, lengths, values = streams
            digest.update(validity.digest() if nulls else hashlib.sha256().digest())
            digest.update(lengths.digest())
            digest.update(values.digest())
        return f"sha256:{digest.hexdigest()}"


def fingerprint_file(path: str | os.PathLike[str]) -> str:
    """The :func:`fingerprint` of a Parquet dataset, read a batch at a time (memory stays flat)."""
    streaming = Fingerprint(parquet_schema(path))
    for batch in iter_batches(path):
        streaming.update(batch)
    return streaming.hexdigest()


class DatasetWriter:
    """Writes record batches to a Parquet file in row groups, fingerprinting them as they pass.

    The file is written to a temporary path (see :func:`open_datasets`); the fingerprint is worked
    out on a helper thread while the writer encodes, each batch in order.
    """

    def __init__(self, path: str | os.PathLike[str], schema: pa.Schema, helper: ThreadPoolExecutor):
        self._schema = schema
        self._writer = pq.ParquetWriter(path, schema, use_dictionary=_dictionary_columns(schema))
        self._fingerprint = Fingerprint(schema)
        self._helper = helper
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._hashing: Future[None] | None = None
        self.rows = 0

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Adds rows; a row group is written each time :data:`ROW_GROUP_ROWS` have gathered."""
        if batch.num_rows == 0:
            return
        batches = batch.to_batches() if isinstance(batch, pa.Table) else [batch]
        self._pending += batches
        self._pending_rows += batch.num_rows
        self.rows += batch.num_rows
        while self._pending_rows >= ROW_GROUP_ROWS:
            self._flush(ROW_GROUP_ROWS)

    def _flush(self, rows: int) -> None:
        """Writes the first ``rows`` pending rows as one row group."""
        pending = pa.Table.from_batches(self._pending, self._schema)
        group, rest = pending.slice(0, rows), pending.slice(rows)
        self._pending, self._pending_rows = rest.to_batches(), rest.num_rows
        if self._hashing is not None:
            self._hashing.result()
        self._hashing = self._helper.submit(self._fingerprint.update, group)
        self._writer.write_table(group, row_group_size=rows)

    def close(self) -> dict[str, object]:
        """Writes what is left and closes the file; returns its :func:`dataset_metadata`."""
        if self._pending_rows:
            self._flush(self._pending_rows)
        self._writer.close()
        if self._hashing is not None:
            self._hashing.result()
        return {
            "rows": self.rows,
            "columns": len(self._schema),
            "schema": schema_of(self._schema.empty_table()),
            "fingerprint": self._fingerprint.hexdigest(),
        }

    def abort(self) -> None:
        """Closes the file without finishing it (the block writing it failed)."""
        self._writer.close()


@contextlib.contextmanager
def open_datasets(
    schemas: Mapping[str | os.PathLike[str], pa.Schema],
) -> Iterator[list[DatasetWriter]]:
    """Writers for several Parquet files that appear together, or not at all if the block fails."""
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(max_workers=1) as helper:
        writers = [
            DatasetWriter(stack.enter_context(atomic_file(path)), schema, helper)
            for path, schema in schemas.items()
        ]
        try:
            yield writers
        finally:
            for writer in writers:
                with contextlib.suppress(Exception):
                    writer.abort()  # closing twice is harmless; the file is removed on failure


Tables = (
    Mapping[str | os.PathLike[str], pa.Table] | Iterable[tuple[str | os.PathLike[str], pa.Table]]
)
"""Paths to tables, or (path, table) pairs: a generator that makes each table only when it is to be
written keeps one of them in memory at a time."""


def write_parquet(table: pa.Table, path: str | os.PathLike[str]) -> None:
    """Writes ``table`` to ``path`` as Parquet, atomically (a failure leaves no file behind)."""
    write_parquets({path: table})


def write_parquets(tables: Tables) -> None:
    """Writes several tables as one unit: either every file appears or none does."""
    _write(tables)


def _write(tables: Tables) -> None:
    pairs = tables.items() if isinstance(tables, Mapping) else tables
    with contextlib.ExitStack() as stack:
        for path, table in pairs:
            pq.write_table(
                table,
                stack.enter_context(atomic_file(path)),
                use_dictionary=_dictionary_columns(table.schema),
            )
            del table  # before a generator makes the next table


def as_stored(table: pa.Table) -> pa.Table:
    """``table`` with the column types that reading it back from Parquet gives.

    Parquet has no unit of seconds, so a ``timestamp[s]`` column comes back as ``timestamp[ms]``.
    Casting before writing makes the schema and fingerprint recorded for a dataset those of the file
    that later steps read.
    """
    sink = pa.BufferOutputStream()
    pq.write_table(table.schema.empty_table(), sink)
    stored = pq.read_schema(pa.BufferReader(sink.getvalue()))
    if stored.types == table.schema.types:
        return table
    return table.cast(
        pa.schema(
            [field.with_type(kind) for field, kind in zip(table.schema, stored.types, strict=True)]
        )
    )


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """The columns worth dictionary-encoding: all but floating-point ones.

    Floating-point values seldom repeat, so Parquet's dictionary encoding of them falls back to
    plain encoding after costing about a third of the write time, for no gain in size.
    """
    return [field.name for field in schema if not pa.types.is_floating(field.type)]


def fingerprint(table: pa.Table) -> str:
    """A content fingerprint: the same column names, types and values give the same digest.

    It depends neither on how the table is split into chunks, nor on schema metadata (such as the
    pandas metadata that Parquet files often carry), nor on whatever bytes happen to lie under null
    values, so a dataset keeps its fingerprint whether it was read from CSV or from Parquet. Each
    column is hashed chunk by chunk (SHA-256): where it has nulls, one byte a row saying which
    values are present, then the present values (and for text or binary columns, their lengths).
    """
    streaming = Fingerprint(table.schema)
    streaming.update(table)
    return streaming.hexdigest()


_OFFSET_WIDTHS = {
    pa.string(): np.int32,
    pa.binary(): np.int32,
    pa.large_string(): np.int64,
    pa.large_binary(): np.int64,
}


def _byte_width(data_type: pa.DataType) -> int | None:
    try:
        bits = data_type.bit_width
    except ValueError:
        return None
    return bits // 8 if bits % 8 == 0 else None


def _hash_values(chunk: pa.Array, lengths: "hashlib._Hash", values: "hashlib._Hash") -> None:
    """Feeds the values of a chunk that has no nulls, in a form independent of its buffers."""
    data_type = chunk.type
    width = _byte_width(data_type)
    if len(chunk) == 0:
        return
    if pa.types.is_dictionary(data_type):
        _hash_values(chunk.dictionary_decode(), lengths, values)
    elif pa.types.is_boolean(data_type):
        values.update(chunk.to_numpy(zero_copy_only=False))
    elif data_type in _OFFSET_WIDTHS:
        offsets = np.frombuffer(chunk.buffers()[1], dtype=_OFFSET_WIDTHS[data_type])
        offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
        lengths.update(np.diff(offsets).astype(np.int64))
        values.update(chunk.buffers()[2][int(offsets[0]) : int(offsets[-1])])
    elif width is not None and not pa.types.is_nested(data_type):
        values.update(
            chunk.buffers()[1][chunk.offset * width : (chunk.offset + len(chunk)) * width]
        )
    else:  # string views, nested and extension types: slower, as independent of chunks and buffers
        for value in chunk.to_pylist():
            values.update(repr(value).encode() + b"\n")


def schema_of(table: pa.Table) -> list[dict[str, str]]:
    """Each column's name and Arrow type name, in column order."""
    return [{"name": field.name, "type": str(field.type)} for field in table.schema]


def dataset_metadata(table: pa.Table) -> dict[str, object]:
    """The metadata every Dataset artifact of this library carries, for lineage in the KFP UI."""
    return {
        "rows": table.num_rows,
        "columns": table.num_columns,
        "schema": schema_of(table),
        "fingerprint": fingerprint(table),
    }

"""Reading and writing the Parquet files that carry datasets between steps; their fingerprints."""

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

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
    _write(tables, describe=None)


def write_datasets(tables: Tables) -> list[dict[str, object]]:
    """Writes tables as :func:`write_parquets` does; returns their :func:`dataset_metadata`.

    Each table's metadata (its fingerprint reads every value) is worked out on a second thread while
    the table is written, so the two take about as long as the slower of them, not their sum.
    """
    return _write(tables, describe=dataset_metadata)


def _write(
    tables: Tables, describe: Callable[[pa.Table], dict[str, object]] | None
) -> list[dict[str, object]]:
    pairs = tables.items() if isinstance(tables, Mapping) else tables
    described = []
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(max_workers=1) as helper:
        for path, table in pairs:
            pending = helper.submit(describe, table) if describe else None
            pq.write_table(
                table,
                stack.enter_context(atomic_file(path)),
                use_dictionary=_dictionary_columns(table.schema),
            )
            if pending:
                described.append(pending.result())
            del table, pending  # before a generator makes the next table
    return described


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
    digest = hashlib.sha256(f"rows={table.num_rows}\n".encode())
    for field, column in zip(table.schema, table.columns, strict=True):
        digest.update(json.dumps([field.name, str(field.type)]).encode() + b"\n")
        for stream in _column_digests(column):
            digest.update(stream.digest())
    return f"sha256:{digest.hexdigest()}"


_OFFSET_WIDTHS = {
    pa.string(): np.int32,
    pa.binary(): np.int32,
    pa.large_string(): np.int64,
    pa.large_binary(): np.int64,
}


def _column_digests(column: pa.ChunkedArray) -> list["hashlib._Hash"]:
    validity, lengths, values = hashlib.sha256(), hashlib.sha256(), hashlib.sha256()
    for chunk in column.chunks:
        if column.null_count:
            validity.update(chunk.is_valid().to_numpy(zero_copy_only=False))
        _hash_values(chunk.drop_null() if chunk.null_count else chunk, lengths, values)
    return [validity, lengths, values]


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

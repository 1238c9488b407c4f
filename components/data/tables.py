"""Reading and writing the Parquet files that carry datasets between steps, and their fingerprints."""

import contextlib
import hashlib
import os

import pyarrow as pa
import pyarrow.parquet as pq

from kfp_mlops.components.atomic import atomic_file
from kfp_mlops.components.errors import ComponentInputError


def read_parquet(path: str | os.PathLike[str], columns: list[str] | None = None) -> pa.Table:
    """Reads a dataset written by an earlier step, naming the path when it is not a Parquet file."""
    try:
        return pq.read_table(path, columns=columns)
    except FileNotFoundError as error:
        raise ComponentInputError(f"dataset file not found: {path}") from error
    except (pa.ArrowInvalid, OSError) as error:
        raise ComponentInputError(f"cannot read {path} as Parquet: {error}") from error


def write_parquet(table: pa.Table, path: str | os.PathLike[str]) -> None:
    """Writes ``table`` to ``path`` as Parquet, atomically (a failure leaves no file behind)."""
    write_parquets({path: table})


def write_parquets(tables: dict[str | os.PathLike[str], pa.Table]) -> None:
    """Writes several tables as one unit: either every file appears or none does."""
    with contextlib.ExitStack() as stack:
        for path, table in tables.items():
            pq.write_table(table, stack.enter_context(atomic_file(path)))


def fingerprint(table: pa.Table) -> str:
    """A content fingerprint: the same column names, types and values give the same digest.

    It does not depend on how the table is split into chunks, nor on schema metadata (such as the
    pandas metadata that Parquet files often carry), so a dataset keeps its fingerprint whether it was
    read from CSV or from Parquet. Each column is serialized to the Arrow IPC format on its own and fed
    to SHA-256, which keeps the extra memory to one column at a time.
    """
    digest = hashlib.sha256()
    for name, column in zip(table.column_names, table.columns, strict=True):
        batch = pa.record_batch([column.combine_chunks()], names=[name])
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        digest.update(sink.getvalue())
    digest.update(f"rows={table.num_rows}".encode())
    return f"sha256:{digest.hexdigest()}"


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

"""Content fingerprints, and the Parquet files that carry datasets between steps."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.tables import (
    as_stored,
    dataset_metadata,
    fingerprint,
    read_parquet,
    write_parquet,
    write_parquets,
)


@pytest.fixture
def table() -> pa.Table:
    """Every kind of column the data steps meet, with nulls, NaN and odd lengths (999 rows)."""
    rng = np.random.default_rng(11)
    rows = 999
    floats = rng.normal(size=rows)
    floats[::17] = np.nan
    words = np.array(["", "a", "bb", "ccc", "ünïcode"], dtype=object)[rng.integers(0, 5, rows)]
    return pa.table(
        {
            "f": pa.array(floats, mask=np.arange(rows) % 13 == 0),
            "i": pa.array(rng.integers(-5, 5, rows), mask=np.arange(rows) % 7 == 0),
            "s": pa.array(words, mask=np.arange(rows) % 11 == 0),
            "b": pa.array(rng.integers(0, 2, rows).astype(bool), mask=np.arange(rows) % 5 == 0),
            "t": pa.array(rng.integers(0, 10**9, rows), pa.timestamp("s")),
            "d": pa.array([f"{v:.2f}" for v in rng.normal(size=rows)]).cast(pa.decimal128(8, 2)),
            "c": pa.array(words).dictionary_encode(),
        }
    )


def _rechunked(table: pa.Table, sizes: list[int]) -> pa.Table:
    """The same rows in chunks of the given sizes (slices at odd, unaligned offsets)."""
    pieces, start = [], 0
    for size in sizes:
        pieces.append(table.slice(start, size))
        start += size
    pieces.append(table.slice(start))
    return pa.concat_tables(pieces)


@pytest.mark.parametrize("sizes", [[1], [3, 5, 7], [500], [998], [13] * 70])
def test_fingerprint_ignores_chunking(table: pa.Table, sizes: list[int]):
    rechunked = _rechunked(table, sizes)
    assert rechunked.column("f").num_chunks > 1
    assert fingerprint(rechunked) == fingerprint(table)
    assert fingerprint(rechunked) == fingerprint(table.combine_chunks())


def test_fingerprint_ignores_record_batch_size(table: pa.Table):
    batches = pa.Table.from_batches(table.to_batches(max_chunksize=64))
    assert fingerprint(batches) == fingerprint(table)


def test_fingerprint_ignores_schema_and_field_metadata(table: pa.Table):
    annotated = table.replace_schema_metadata({"pandas": '{"index_columns": []}', "x": "y"})
    field = annotated.schema.field("f").with_metadata({"unit": "cm"})
    annotated = annotated.set_column(0, field, annotated.column("f"))
    assert fingerprint(annotated) == fingerprint(table)


def test_fingerprint_ignores_bytes_under_nulls():
    validity = pa.py_buffer(np.packbits([1, 0, 1], bitorder="little").tobytes())
    zero = pa.Array.from_buffers(
        pa.float64(), 3, [validity, pa.py_buffer(np.array([1.0, 0.0, 3.0]).tobytes())]
    )
    junk = pa.Array.from_buffers(
        pa.float64(), 3, [validity, pa.py_buffer(np.array([1.0, 99.0, 3.0]).tobytes())]
    )
    assert zero.equals(junk)
    assert fingerprint(pa.table({"x": zero})) == fingerprint(pa.table({"x": junk}))


def test_fingerprint_same_for_csv_and_parquet_of_the_same_data(tmp_path: Path):
    frame = pd.DataFrame(
        {
            "x": [1.5, np.nan, -2.25, 4.0] * 50,
            "n": [1, 2, 3, 4] * 50,
            "s": ["a", None, "ccc", "dd"] * 50,
            "flag": [True, False, True, True] * 50,
        }
    )
    frame.to_csv(tmp_path / "data.csv", index=False)
    frame.to_parquet(tmp_path / "pandas.parquet", index=False)
    from_csv = pacsv.read_csv(
        tmp_path / "data.csv",
        read_options=pacsv.ReadOptions(block_size=512),
        convert_options=pacsv.ConvertOptions(strings_can_be_null=True),
    )
    assert from_csv.column("x").num_chunks > 1
    pq.write_table(from_csv, tmp_path / "arrow.parquet")
    from_pandas = pq.read_table(tmp_path / "pandas.parquet")
    assert from_pandas.schema.metadata  # pandas metadata, which must not count
    assert fingerprint(from_csv) == fingerprint(pq.read_table(tmp_path / "arrow.parquet"))
    assert fingerprint(from_csv) == fingerprint(from_pandas)


def _with_column(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, values)


@pytest.mark.parametrize(
    "change",
    [
        "one value",
        "null for a value",
        "rows swapped",
        "column renamed",
        "columns reordered",
        "type",
        "text split differently",
        "row dropped",
        "true for false",
    ],
)
def test_fingerprint_changes_with_content(change: str):
    base = pa.table(
        {
            "x": [1.0, 2.0, 3.0, 4.0],
            "n": [1, 2, 3, 4],
            "s": ["ab", "c", "d", "e"],
            "b": [True, False, True, False],
        }
    )
    changed = {
        "one value": lambda: _with_column(base, "x", pa.array([1.0, 2.0, 3.0, 4.5])),
        "null for a value": lambda: _with_column(base, "n", pa.array([1, 2, None, 4])),
        "rows swapped": lambda: base.take([1, 0, 2, 3]),
        "column renamed": lambda: base.rename_columns(["x", "m", "s", "b"]),
        "columns reordered": lambda: base.select(["n", "x", "s", "b"]),
        "type": lambda: _with_column(base, "n", pa.array([1, 2, 3, 4], pa.int32())),
        "text split differently": lambda: _with_column(base, "s", pa.array(["a", "bc", "d", "e"])),
        "row dropped": lambda: base.slice(0, 3),
        "true for false": lambda: _with_column(base, "b", pa.array([True, True, True, False])),
    }[change]()
    assert fingerprint(changed) != fingerprint(base)


def test_fingerprint_tells_null_from_zero_and_empty_text():
    assert fingerprint(pa.table({"n": [0, 1]})) != fingerprint(pa.table({"n": [None, 1]}))
    assert fingerprint(pa.table({"s": ["", "a"]})) != fingerprint(pa.table({"s": [None, "a"]}))


def test_fingerprint_of_nested_columns_ignores_chunking():
    table = pa.table({"l": [[1, 2], [], None, [3]], "st": [{"a": 1}, {"a": 2}, None, {"a": 4}]})
    assert fingerprint(_rechunked(table, [1, 2])) == fingerprint(table)
    assert fingerprint(table.slice(0, 3)) != fingerprint(table)


def test_fingerprint_of_an_empty_table_is_stable():
    empty = pa.table({"x": pa.array([], pa.float64())})
    assert fingerprint(empty) == fingerprint(empty)
    assert fingerprint(empty) != fingerprint(pa.table({"y": pa.array([], pa.float64())}))


def test_dataset_metadata(table: pa.Table):
    metadata = dataset_metadata(table)
    assert metadata["rows"] == 999
    assert metadata["columns"] == 7
    assert metadata["schema"][2] == {"name": "s", "type": "string"}
    assert metadata["fingerprint"] == fingerprint(table)


def test_as_stored_gives_the_types_parquet_reads_back(table: pa.Table, tmp_path: Path):
    stored = as_stored(table)
    assert stored.schema.field("t").type == pa.timestamp("ms")  # Parquet has no seconds
    assert stored.column("t").cast(pa.int64()).to_pylist() == [
        value * 1000 for value in table.column("t").cast(pa.int64()).to_pylist()
    ]
    write_parquet(table, tmp_path / "t.parquet")
    assert read_parquet(tmp_path / "t.parquet").schema == stored.schema
    assert as_stored(stored) is stored


def test_parquet_round_trip_keeps_the_fingerprint(table: pa.Table, tmp_path: Path):
    table = as_stored(table)
    write_parquet(table, tmp_path / "sub" / "t.parquet")
    assert fingerprint(read_parquet(tmp_path / "sub" / "t.parquet")) == fingerprint(table)
    assert read_parquet(tmp_path / "sub" / "t.parquet", columns=["s"]).column_names == ["s"]
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["t.parquet"]


def test_write_parquets_from_a_generator_writes_every_table(tmp_path: Path):
    tables = {tmp_path / f"{n}.parquet": pa.table({"v": [n]}) for n in range(3)}
    write_parquets((path, table) for path, table in tables.items())
    for path, table in tables.items():
        assert read_parquet(path).equals(table)


def test_write_parquets_leaves_nothing_when_one_table_fails(tmp_path: Path):
    def tables():
        yield tmp_path / "first.parquet", pa.table({"v": [1]})
        raise ComponentInputError("the second table cannot be made")

    with pytest.raises(ComponentInputError):
        write_parquets(tables())
    assert list(tmp_path.iterdir()) == []


def test_read_parquet_names_the_path(tmp_path: Path):
    with pytest.raises(ComponentInputError, match=r"dataset file not found: .*absent\.parquet"):
        read_parquet(tmp_path / "absent.parquet")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(ComponentInputError, match=r"cannot read .*bad\.parquet as Parquet"):
        read_parquet(tmp_path / "bad.parquet")

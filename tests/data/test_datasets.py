"""Sources that are datasets: folders of files and Hive-partitioned tables, read in batches."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.tables import BATCH_ROWS, ROW_GROUP_ROWS, fingerprint
from kfp_mlops.components.data.ingest import ingest_to_parquet, read_source


def _events(rows: int = 600) -> pa.Table:
    rng = np.random.default_rng(11)
    return pa.table(
        {
            "x": rng.normal(size=rows),
            "n": rng.integers(0, 9, rows),
            "target": np.tile([0, 1, 1], rows // 3),
            "year": np.repeat([2025, 2026], rows // 2),
            "region": np.tile(["eu", "us"], rows // 2),
        }
    )


def _one_line_error(call, *fragments: str) -> str:
    with pytest.raises(ComponentInputError) as raised:
        call()
    message = str(raised.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_a_hive_partitioned_dataset_reads_with_typed_partition_columns(tmp_path: Path):
    table = _events()
    ds.write_dataset(
        table,
        tmp_path / "lake",
        format="parquet",
        partitioning=["year", "region"],
        partitioning_flavor="hive",
    )
    (tmp_path / "lake" / "_SUCCESS").write_text("")
    assert len(list((tmp_path / "lake").rglob("*.parquet"))) == 4
    read = read_source(str(tmp_path / "lake"))
    assert read.schema.field("year").type == pa.int32()
    assert read.schema.field("region").type == pa.string()
    assert read.num_rows == 600
    ordered = pa.Table.from_pandas(
        read.to_pandas().sort_values(["year", "region", "x"]), preserve_index=False
    )
    expected = pa.Table.from_pandas(
        table.to_pandas().sort_values(["year", "region", "x"]), preserve_index=False
    ).cast(ordered.schema)
    assert ordered.equals(expected)


def test_a_folder_of_csv_files_is_one_dataset(tmp_path: Path):
    frame = _events().to_pandas()
    (tmp_path / "parts").mkdir()
    for index in range(3):
        chunk = frame.iloc[index * 200 : (index + 1) * 200]
        chunk.to_csv(tmp_path / "parts" / f"part-{index}.csv", index=False)
    metadata = ingest_to_parquet(str(tmp_path / "parts"), str(tmp_path / "out.parquet"))
    whole = tmp_path / "whole.csv"
    frame.to_csv(whole, index=False)
    assert metadata["fingerprint"] == fingerprint(read_source(str(whole)))
    assert metadata["rows"] == 600


def test_files_with_other_columns_fail_naming_the_file_and_the_column(tmp_path: Path):
    frame = _events().to_pandas()
    (tmp_path / "parts").mkdir()
    frame.iloc[:300].to_csv(tmp_path / "parts" / "a.csv", index=False)
    frame.iloc[300:].drop(columns="n").to_csv(tmp_path / "parts" / "b.csv", index=False)
    output = tmp_path / "out.parquet"
    _one_line_error(
        lambda: ingest_to_parquet(str(tmp_path / "parts"), str(output)),
        "parts/b.csv lacks column 'n'",
    )
    assert not output.exists()


def test_parquet_files_with_other_types_fail_naming_the_file_and_the_column(tmp_path: Path):
    table = _events()
    (tmp_path / "parts").mkdir()
    pq.write_table(table.slice(0, 300), tmp_path / "parts" / "a.parquet")
    later = table.slice(300).set_column(1, "n", table.column("n").slice(300).cast(pa.float64()))
    pq.write_table(later, tmp_path / "parts" / "b.parquet")
    _one_line_error(
        lambda: read_source(str(tmp_path / "parts")),
        "column 'n' is double in",
        "parts/b.parquet but int64 in",
        "parts/a.parquet",
    )


def test_a_folder_mixing_formats_is_refused(tmp_path: Path):
    frame = _events().to_pandas()
    (tmp_path / "parts").mkdir()
    frame.to_csv(tmp_path / "parts" / "a.csv", index=False)
    frame.to_parquet(tmp_path / "parts" / "b.parquet")
    _one_line_error(lambda: read_source(str(tmp_path / "parts")), "mixes formats (csv, parquet)")


def test_ingest_writes_row_groups_and_the_same_fingerprint_as_in_memory(tmp_path: Path):
    rows = ROW_GROUP_ROWS + BATCH_ROWS + 17
    frame = pd.DataFrame({"x": np.arange(rows) * 0.5, "target": np.arange(rows) % 2})
    source = tmp_path / "big.parquet"
    frame.to_parquet(source, row_group_size=50_000)
    output = tmp_path / "out.parquet"
    metadata = ingest_to_parquet(str(source), str(output))
    written = pq.ParquetFile(output)
    assert [written.metadata.row_group(i).num_rows for i in range(2)] == [
        ROW_GROUP_ROWS,
        BATCH_ROWS + 17,
    ]
    assert metadata["fingerprint"] == fingerprint(pq.read_table(output))
    assert metadata["fingerprint"] == fingerprint(pq.read_table(source))


def test_a_bad_value_in_a_later_file_leaves_no_output(tmp_path: Path):
    # The first file's rows are already written when the second file's value fails: the
    # temporary output is removed, and no dataset appears.
    frame = pd.DataFrame({"n": np.arange(300), "target": np.arange(300) % 2})
    (tmp_path / "parts").mkdir()
    frame.to_csv(tmp_path / "parts" / "a.csv", index=False)
    frame.astype({"n": object}).assign(n=["x"] * 300).to_csv(
        tmp_path / "parts" / "b.csv", index=False
    )
    output = tmp_path / "out" / "dataset.parquet"
    output.parent.mkdir()
    _one_line_error(
        lambda: ingest_to_parquet(
            str(tmp_path / "parts"), str(output), column_types={"n": "int64"}
        ),
        "CSV column 'n'",
        "does not parse",
    )
    assert list(output.parent.iterdir()) == []

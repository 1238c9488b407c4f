"""Reading CSV and Parquet sources into Parquet datasets."""

import bz2
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.tables import fingerprint
from kfp_mlops.components.data.ingest import detect_format, ingest_to_parquet, read_source


@pytest.fixture
def csv_path(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "frame.csv"
    frame.to_csv(path, index=False)
    return path


def _one_line_error(call, *fragments: str) -> str:
    with pytest.raises(ComponentInputError) as raised:
        call()
    message = str(raised.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message
    return message


def test_csv_becomes_parquet_with_metadata(csv_path: Path, tmp_path: Path, frame: pd.DataFrame):
    output = tmp_path / "out" / "dataset.parquet"
    metadata = ingest_to_parquet(str(csv_path), str(output))
    table = pq.read_table(output)
    assert table.to_pandas().equals(frame)
    assert metadata == {
        "rows": 200,
        "columns": 4,
        "schema": [
            {"name": "x1", "type": "double"},
            {"name": "x2", "type": "double"},
            {"name": "n", "type": "int64"},
            {"name": "target", "type": "int64"},
        ],
        "fingerprint": fingerprint(table),
        "source_uri": str(csv_path),
    }
    assert metadata["fingerprint"].startswith("sha256:")


@pytest.mark.parametrize(
    ("suffix", "compress"), [(".csv.gz", gzip.compress), (".csv.bz2", bz2.compress)]
)
def test_compressed_csv_reads_like_plain_csv(csv_path: Path, tmp_path: Path, suffix, compress):
    compressed = tmp_path / f"frame{suffix}"
    compressed.write_bytes(compress(csv_path.read_bytes()))
    plain = ingest_to_parquet(str(csv_path), str(tmp_path / "plain.parquet"))
    packed = ingest_to_parquet(str(compressed), str(tmp_path / "packed.parquet"))
    assert packed["fingerprint"] == plain["fingerprint"]
    assert packed["rows"] == 200


def test_parquet_source_keeps_its_content(tmp_path: Path, frame: pd.DataFrame):
    source = tmp_path / "frame.parquet"
    frame.to_parquet(source, index=False)
    metadata = ingest_to_parquet(str(source), str(tmp_path / "out.parquet"))
    assert pq.read_table(tmp_path / "out.parquet").to_pandas().equals(frame)
    assert metadata["rows"] == 200


def test_csv_and_parquet_of_the_same_data_share_a_fingerprint(
    csv_path: Path, tmp_path: Path, frame: pd.DataFrame
):
    frame.to_parquet(tmp_path / "frame.parquet", index=False)  # carries pandas schema metadata
    from_csv = ingest_to_parquet(str(csv_path), str(tmp_path / "a.parquet"))
    from_parquet = ingest_to_parquet(str(tmp_path / "frame.parquet"), str(tmp_path / "b.parquet"))
    assert from_csv["fingerprint"] == from_parquet["fingerprint"]


def test_file_uri_reads_the_local_file(csv_path: Path, tmp_path: Path):
    by_path = ingest_to_parquet(str(csv_path), str(tmp_path / "a.parquet"))
    by_uri = ingest_to_parquet(csv_path.as_uri(), str(tmp_path / "b.parquet"))
    assert by_uri["fingerprint"] == by_path["fingerprint"]
    assert by_uri["source_uri"] == csv_path.as_uri()


def test_relative_path_is_a_local_file(csv_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(csv_path.parent)
    assert read_source(csv_path.name).num_rows == 200


def test_column_types_parse_csv_columns_as_asked(csv_path: Path):
    table = read_source(str(csv_path), column_types={"n": "float64", "target": "string"})
    assert table.schema.field("n").type == pa.float64()
    assert table.schema.field("target").type == pa.string()
    assert table.schema.field("x1").type == pa.float64()


def test_column_types_cast_parquet_columns(tmp_path: Path, frame: pd.DataFrame):
    frame.to_parquet(tmp_path / "frame.parquet", index=False)
    table = read_source(str(tmp_path / "frame.parquet"), column_types={"n": "int32"})
    assert table.schema.field("n").type == pa.int32()


def test_column_types_timestamp(tmp_path: Path):
    path = tmp_path / "times.csv"
    path.write_text("when,value\n2024-01-01 10:00:00,1\n2024-01-02 11:30:00,2\n")
    table = read_source(str(path), column_types={"when": "timestamp[s]"})
    assert table.schema.field("when").type == pa.timestamp("s")


def test_metadata_describes_the_file_as_later_steps_read_it(tmp_path: Path):
    # Parquet cannot hold seconds: the dataset holds milliseconds, and its metadata says so.
    path = tmp_path / "times.csv"
    path.write_text("when,value\n2024-01-01 10:00:00,1\n2024-01-02 11:30:00,2\n")
    output = tmp_path / "out.parquet"
    metadata = ingest_to_parquet(str(path), str(output), column_types={"when": "timestamp[s]"})
    stored = pq.read_table(output)
    assert metadata["schema"][0] == {"name": "when", "type": str(stored.schema.field("when").type)}
    assert metadata["fingerprint"] == fingerprint(stored)


def test_empty_text_fields_are_missing_values(tmp_path: Path):
    frame = pd.DataFrame({"s": ["a", None, "c"] * 10, "x": [1.0, None, 3.0] * 10})
    frame.to_csv(tmp_path / "s.csv", index=False)
    frame.to_parquet(tmp_path / "s.parquet", index=False)
    from_csv = read_source(str(tmp_path / "s.csv"))
    assert from_csv.column("s").null_count == 10
    assert fingerprint(from_csv) == fingerprint(read_source(str(tmp_path / "s.parquet")))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_column_types_naming_an_absent_column_fail(tmp_path: Path, frame: pd.DataFrame, suffix):
    path = tmp_path / f"frame{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    _one_line_error(
        lambda: read_source(str(path), column_types={"nx": "int64"}),
        "column_types names columns that",
        "['nx']",
    )


def test_column_types_with_an_unknown_type_name_fail(csv_path: Path):
    _one_line_error(
        lambda: read_source(str(csv_path), column_types={"n": "integer64"}),
        "column_types['n'] = 'integer64' is not an Arrow type name",
    )


def test_value_that_does_not_parse_as_its_column_type_names_the_column(tmp_path: Path):
    path = tmp_path / "typed.csv"
    path.write_text("a,b\n1,2\nabc,3\n")
    output = tmp_path / "out.parquet"
    _one_line_error(
        lambda: ingest_to_parquet(str(path), str(output), column_types={"a": "float64"}),
        "cannot read",
        "CSV column 'a'",
        "does not parse",
    )
    assert not output.exists()


def test_a_later_block_that_changes_a_column_type_is_read_with_full_inference(tmp_path: Path):
    # Far past the first block (1 MiB) of the CSV reader, integers turn into floats and a numeric
    # column holds a word: the types guessed from the first block no longer fit.
    rows = 120_000
    frame = pd.DataFrame({"i": np.arange(rows), "v": np.arange(rows) * 0.5})
    frame["i"] = frame["i"].astype(object)
    frame["v"] = frame["v"].astype(object)
    frame.loc[rows - 1, "i"] = 1.5
    frame.loc[rows - 2, "v"] = "abc"
    path = tmp_path / "drift.csv"
    frame.to_csv(path, index=False)
    assert path.stat().st_size > 2**20
    table = read_source(str(path))
    assert table.schema.field("i").type == pa.float64()
    assert table.schema.field("v").type == pa.string()
    assert table.num_rows == rows
    assert table.column("i")[rows - 1].as_py() == 1.5


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("data.csv", "csv"),
        ("s3://bucket/DATA.CSV", "csv"),
        ("gs://bucket/data.csv.gz", "csv"),
        ("/tmp/data.csv.bz2", "csv"),
        ("file:///tmp/data.parquet", "parquet"),
        ("data.pq", "parquet"),
    ],
)
def test_format_comes_from_the_suffix(uri: str, expected: str):
    assert detect_format(uri) == expected


def test_explicit_format_wins_over_the_suffix(tmp_path: Path, frame: pd.DataFrame):
    path = tmp_path / "export.txt"
    frame.to_csv(path, index=False)
    assert detect_format(str(path), "csv") == "csv"
    assert read_source(str(path), file_format="csv").num_rows == 200


def test_unknown_suffix_or_format_fail():
    _one_line_error(lambda: detect_format("data.json"), "cannot tell the format", "file_format")
    _one_line_error(lambda: detect_format("data.csv", "excel"), "file_format 'excel'")


def test_missing_file(tmp_path: Path):
    output = tmp_path / "out.parquet"
    _one_line_error(
        lambda: ingest_to_parquet(str(tmp_path / "absent.csv"), str(output)),
        "input file not found:",
        "absent.csv",
    )
    assert not output.exists()


def test_missing_file_by_uri(tmp_path: Path):
    missing = (tmp_path / "absent.parquet").as_uri()
    _one_line_error(lambda: read_source(missing), f"input file not found: {missing}")


def test_empty_file(tmp_path: Path):
    (tmp_path / "empty.csv").write_bytes(b"")
    output = tmp_path / "out.parquet"
    _one_line_error(
        lambda: ingest_to_parquet(str(tmp_path / "empty.csv"), str(output)), "empty (0 bytes)"
    )
    assert not output.exists()


def test_header_only_csv(tmp_path: Path):
    (tmp_path / "header.csv").write_text("a,b,target\n")
    output = tmp_path / "out.parquet"
    _one_line_error(
        lambda: ingest_to_parquet(str(tmp_path / "header.csv"), str(output)),
        "has a header but no data rows",
    )
    assert not output.exists()


def test_blank_csv_with_only_line_breaks(tmp_path: Path):
    (tmp_path / "blank.csv").write_text("\n\n")
    _one_line_error(lambda: read_source(str(tmp_path / "blank.csv")), "cannot read", "as csv")


def test_ragged_csv_names_the_problem(tmp_path: Path):
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n")
    _one_line_error(lambda: read_source(str(tmp_path / "ragged.csv")), "Expected 2 columns, got 1")


def test_damaged_gzip(tmp_path: Path):
    (tmp_path / "broken.csv.gz").write_bytes(b"\x1f\x8b not really gzip")
    _one_line_error(lambda: read_source(str(tmp_path / "broken.csv.gz")), "cannot read", "as csv")


def test_file_that_is_not_parquet(tmp_path: Path):
    (tmp_path / "fake.parquet").write_text("a,b\n1,2\n")
    _one_line_error(
        lambda: read_source(str(tmp_path / "fake.parquet")), "cannot read", "as parquet"
    )


def test_folder_without_data_files(tmp_path: Path):
    (tmp_path / "folder.csv").mkdir()
    _one_line_error(lambda: read_source(str(tmp_path / "folder.csv")), "holds no data file")


# Issue 14, finding 7: the format comes from the parsed path, and no error quotes the file.


def test_format_comes_from_the_parsed_path_not_the_raw_uri():
    _one_line_error(lambda: detect_format("file:///etc/passwd?x=.csv"), "cannot tell the format")
    uri = "s3://bucket/k.csv?endpoint_override=127.0.0.1:9000&scheme=http"
    assert detect_format(uri) == "csv"


def test_a_local_file_behind_a_csv_looking_query_is_not_read(tmp_path: Path):
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    message = _one_line_error(
        lambda: read_source(f"{secret.as_uri()}?x=.csv"), "cannot tell the format"
    )
    assert "root" not in message.replace(str(secret), "")


@pytest.mark.parametrize(
    ("content", "column_types"),
    [
        ("a,b\n1,2\n3,hunter2secret\n", {"b": "int64"}),  # a value that does not convert
        ("a,b\n1,2\n3,4,hunter2secret\n", None),  # a row with too many fields
    ],
)
def test_parse_errors_never_quote_the_file(tmp_path: Path, content: str, column_types):
    path = tmp_path / "data.csv"
    path.write_text(content)
    message = _one_line_error(
        lambda: read_source(str(path), column_types=column_types), "cannot read"
    )
    assert "hunter2secret" not in message
    assert "3,4" not in message


# Issue 14, finding 8: duplicate names, other delimiters, short messages.


def test_duplicate_column_names_are_refused_naming_the_column(tmp_path: Path):
    path = tmp_path / "twice.csv"
    path.write_text("a,b,a,target\n1,2,3,0\n4,5,6,1\n")
    output = tmp_path / "out.parquet"
    _one_line_error(
        lambda: ingest_to_parquet(str(path), str(output)), "column 'a' appears more than once"
    )
    assert not output.exists()


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_a_csv_with_another_delimiter_is_read_by_columns(
    tmp_path: Path, frame: pd.DataFrame, delimiter: str
):
    path = tmp_path / "semicolons.csv"
    frame.to_csv(path, index=False, sep=delimiter)
    table = read_source(str(path))
    assert table.column_names == list(frame.columns)
    assert table.equals(read_source(str(_comma_copy(tmp_path, frame))))


def _comma_copy(folder: Path, frame: pd.DataFrame) -> Path:
    path = folder / "commas.csv"
    frame.to_csv(path, index=False)
    return path

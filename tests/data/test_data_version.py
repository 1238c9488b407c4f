"""The data version that keys ingest's cache: it changes exactly when the data does."""

import hashlib
import os
from pathlib import Path

import pytest
from kfp.dsl import Dataset

from kfp_mlops.components import data
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.data.data_version import check_unchanged, resolve_data_version


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_is_versioned_by_the_hash_of_its_bytes(tmp_path: Path):
    csv = _write(tmp_path / "data.csv", "a,target\n1,0\n2,1\n")
    found = resolve_data_version(str(csv))
    assert found["data_version"] == "sha256:" + hashlib.sha256(csv.read_bytes()).hexdigest()
    assert (found["files"], found["bytes"]) == (1, csv.stat().st_size)
    assert resolve_data_version(csv.as_uri())["data_version"] == found["data_version"]


def test_a_changed_file_at_the_same_path_gets_a_new_version(tmp_path: Path):
    csv = _write(tmp_path / "data.csv", "a,target\n1,0\n2,1\n")
    before = resolve_data_version(str(csv))["data_version"]
    stat = csv.stat()
    # Same size and the same modification time: only the content tells the change.
    _write(csv, "a,target\n3,0\n2,1\n")
    os.utime(csv, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert resolve_data_version(str(csv))["data_version"] != before


def test_a_file_touched_but_unchanged_keeps_its_version(tmp_path: Path):
    csv = _write(tmp_path / "data.csv", "a,target\n1,0\n2,1\n")
    before = resolve_data_version(str(csv))["data_version"]
    os.utime(csv, ns=(0, 10**18))
    assert resolve_data_version(str(csv))["data_version"] == before


def _partitioned(root: Path) -> Path:
    _write(root / "year=2025" / "part-0.csv", "a,target\n1,0\n")
    _write(root / "year=2026" / "part-0.csv", "a,target\n2,1\n")
    _write(root / "_SUCCESS", "")
    _write(root / ".part-0.csv.crc", "x")
    return root


def test_a_directory_is_versioned_over_its_data_files(tmp_path: Path):
    root = _partitioned(tmp_path / "dataset")
    first = resolve_data_version(str(root))
    assert (first["files"], first["bytes"]) == (2, 26)
    assert first["data_version"].startswith("sha256:")
    assert resolve_data_version(str(root))["data_version"] == first["data_version"]

    # Files pyarrow.dataset ignores (names starting with _ or .) do not change the version.
    _write(root / "_SUCCESS", "written again")
    _write(root / "year=2026" / ".tmp-upload", "half a file")
    assert resolve_data_version(str(root))["data_version"] == first["data_version"]

    _write(root / "year=2026" / "part-0.csv", "a,target\n3,1\n")
    changed = resolve_data_version(str(root))["data_version"]
    assert changed != first["data_version"]

    _write(root / "year=2027" / "part-0.csv", "a,target\n4,0\n")
    added = resolve_data_version(str(root))["data_version"]
    assert added not in (first["data_version"], changed)

    (root / "year=2027" / "part-0.csv").rename(root / "year=2027" / "part-1.csv")
    assert resolve_data_version(str(root))["data_version"] != added


def test_an_object_rewritten_on_s3_gets_a_new_version(s3):
    """On object storage pyarrow gives no ETag, only size and mtime: a rewrite changes those.

    Against a real S3 API (moto's server on 127.0.0.1): the same object read twice keeps its
    version; the object rewritten (new size, new LastModified) gets a new one, and ingest refuses
    a version the object no longer has.
    """
    store = s3.filesystem()
    store.create_dir("versions")
    with store.open_output_stream("versions/latest.csv") as stream:
        stream.write(b"a,target\n1,0\n")
    uri = s3.uri("versions/latest.csv")
    first = resolve_data_version(uri)
    assert first["data_version"].startswith("objects:")
    assert first["files"] == 1 and first["bytes"] == 13
    assert resolve_data_version(uri) == first

    with store.open_output_stream("versions/latest.csv") as stream:
        stream.write(b"a,target\n1,0\n2,1\n")
    rewritten = resolve_data_version(uri)
    assert rewritten["data_version"] != first["data_version"]
    with pytest.raises(ComponentInputError, match="changed while it was ingested"):
        check_unchanged(uri, first["data_version"])


def test_a_changed_file_in_a_partitioned_dataset_on_s3_gets_a_new_version(s3):
    store = s3.filesystem()
    store.create_dir("version-lake")
    for day in ("2026-12-01", "2026-12-02"):
        with store.open_output_stream(f"version-lake/events/day={day}/part-0.csv") as stream:
            stream.write(b"a,target\n1,0\n")
    uri = s3.uri("version-lake/events")
    before = resolve_data_version(uri)
    assert before["files"] == 2
    with store.open_output_stream("version-lake/events/_SUCCESS") as stream:
        stream.write(b"done")  # a marker pyarrow.dataset skips: not data, same version
    assert resolve_data_version(uri)["data_version"] == before["data_version"]
    with store.open_output_stream("version-lake/events/day=2026-12-02/part-0.csv") as stream:
        stream.write(b"a,target\n1,0\n3,1\n")
    assert resolve_data_version(uri)["data_version"] != before["data_version"]


@pytest.mark.parametrize("name", ["absent.csv", "empty-dir"])
def test_nothing_to_version_fails_in_one_line_naming_the_uri(tmp_path: Path, name: str):
    (tmp_path / "empty-dir").mkdir()
    target = tmp_path / name
    with pytest.raises(ComponentInputError, match=str(target)) as raised:
        resolve_data_version(str(target))
    assert "\n" not in str(raised.value)


def test_the_component_returns_the_version(tmp_path: Path):
    csv = _write(tmp_path / "data.csv", "a,target\n1,0\n2,1\n")
    assert (
        data.resolve_data_version.python_func(source_uri=str(csv))
        == (resolve_data_version(str(csv))["data_version"])
    )


def test_ingest_records_the_version_it_was_given(tmp_path: Path):
    csv = _write(tmp_path / "data.csv", "a,target\n1,0\n2,1\n")
    version = data.resolve_data_version.python_func(source_uri=str(csv))
    dataset = Dataset(uri=str(tmp_path / "ingest" / "dataset"))
    data.ingest_dataset.python_func(source_uri=str(csv), dataset=dataset, data_version=version)
    assert dataset.metadata["data_version"] == version
    assert dataset.metadata["rows"] == 2


def test_data_rewritten_after_its_version_was_read_fails_ingest_and_leaves_nothing(
    tmp_path: Path,
):
    """The race: the version step read the old file, ingest reads the new one."""
    csv = _write(tmp_path / "data.csv", "a,target\n1,0\n2,1\n")
    version = data.resolve_data_version.python_func(source_uri=str(csv))
    _write(csv, "a,target\n1,0\n2,1\n3,0\n")
    dataset = Dataset(uri=str(tmp_path / "ingest" / "dataset"))
    with pytest.raises(ComponentInputError, match="changed while it was ingested") as raised:
        data.ingest_dataset.python_func(source_uri=str(csv), dataset=dataset, data_version=version)
    assert version in str(raised.value) and "\n" not in str(raised.value)
    assert not Path(dataset.path).exists()

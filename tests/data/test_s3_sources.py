"""Sources on an object store: a real S3 API (moto's server) on 127.0.0.1, through pyarrow."""

import http.server
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pytest

from kfp_mlops.components.common.errors import ComponentInputError, ExternalSystemError
from kfp_mlops.components.common.tables import fingerprint
from kfp_mlops.components.data.ingest import ingest_to_parquet, read_source
from kfp_mlops.components.data.split import split_to_parquet


def _events(rows: int = 900) -> pa.Table:
    rng = np.random.default_rng(7)
    return pa.table(
        {
            "x": rng.normal(size=rows),
            "n": rng.integers(0, 9, rows),
            "target": np.tile([0, 1, 1], rows // 3),
            "day": np.repeat(["2026-12-01", "2026-12-02", "2026-12-03"], rows // 3),
            "shard": np.tile([0, 1], rows // 2),
        }
    )


def _bucket(s3, name: str) -> None:
    s3.filesystem().create_dir(name)


def test_a_partitioned_dataset_on_s3_ingests_like_the_same_dataset_on_disk(s3, tmp_path: Path):
    _bucket(s3, "lake")
    table = _events()
    for where, filesystem in (("lake/events", s3.filesystem()), (str(tmp_path / "events"), None)):
        ds.write_dataset(
            table,
            where,
            filesystem=filesystem,
            format="parquet",
            partitioning=["day", "shard"],
            partitioning_flavor="hive",
            max_rows_per_file=100,
            max_rows_per_group=100,
        )
    assert len(s3.filesystem().get_file_info(pa.fs.FileSelector("lake/events", recursive=True))) > 9
    remote = ingest_to_parquet(s3.uri("lake/events"), tmp_path / "remote.parquet")
    local = ingest_to_parquet(str(tmp_path / "events"), tmp_path / "local.parquet")
    assert remote["rows"] == 900
    assert remote["fingerprint"] == local["fingerprint"]
    assert {"name": "shard", "type": "int32"} in remote["schema"]
    parts = split_to_parquet(
        str(tmp_path / "remote.parquet"),
        {name: str(tmp_path / f"{name}.parquet") for name in ("train", "validation", "test")},
        "target",
    )
    assert sum(part["rows"] for part in parts.values()) == 900


def test_a_csv_key_with_scheme_options_in_its_uri_is_read(s3, tmp_path: Path):
    # Issue 14, finding 7: the format check used to read the raw URI, whose end is "scheme=http".
    _bucket(s3, "raw")
    table = _events(30)
    with s3.filesystem().open_output_stream("raw/k.csv") as stream:
        pacsv.write_csv(table, stream)
    pacsv.write_csv(table, tmp_path / "k.csv")
    read = read_source(s3.uri("raw/k.csv"))
    assert read.num_rows == 30
    assert fingerprint(read) == fingerprint(read_source(str(tmp_path / "k.csv")))


def test_a_missing_key_is_named(s3):
    _bucket(s3, "empty")
    with pytest.raises(ComponentInputError, match=r"input file not found: s3://empty/absent.csv"):
        read_source(s3.uri("empty/absent.csv"))


@pytest.mark.parametrize(
    "uri",
    [
        "s3://AKIAEXAMPLE:wJalrXUtnFEMI@lake/events",
        "s3://lake/events?access_key=AKIAEXAMPLE&secret_key=wJalrXUtnFEMI",
    ],
)
def test_a_data_uri_carrying_keys_is_refused_before_anything_is_read_or_stored(uri, tmp_path):
    """Keys in a data_uri would land in the Dataset's source_uri metadata and in error lines:
    ingest (and the data-version step, which locates the files the same way) refuse them."""
    from kfp_mlops.components.data.data_version import resolve_data_version

    for step in (
        lambda: ingest_to_parquet(uri, str(tmp_path / "dataset")),
        lambda: resolve_data_version(uri),
    ):
        with pytest.raises(ComponentInputError, match="carries a credential") as raised:
            step()
        assert "wJalrXUtnFEMI" not in str(raised.value)
    assert not (tmp_path / "dataset").exists()


class _Unavailable(http.server.BaseHTTPRequestHandler):
    """An S3 endpoint that answers every request with 503 SlowDown, as S3 does when overloaded."""

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        body = b"<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>"
        self.send_response(503)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_POST = _answer


@pytest.fixture(params=["refused", "503"])
def unreachable_store(request, unused_port: int, monkeypatch: pytest.MonkeyPatch):
    """An object store endpoint that cannot serve: nothing listening, or one answering 503."""
    # Dummy keys and no EC2 metadata lookup: nothing leaves this machine.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    if request.param == "refused":
        yield f"127.0.0.1:{unused_port}"
        return
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow  # pyarrow retries a refused connection for 6 s (arrow s3_internal.h)
def test_an_unreachable_store_is_a_system_failure(unreachable_store: str, tmp_path: Path):
    from kfp_mlops.components.data.data_version import resolve_data_version

    uri = f"s3://lake/k.csv?endpoint_override={unreachable_store}&scheme=http"
    out = tmp_path / "dataset.parquet"
    for step in (lambda: ingest_to_parquet(uri, out), lambda: resolve_data_version(uri)):
        with pytest.raises(ExternalSystemError) as raised:
            step()
        message = str(raised.value)
        assert "\n" not in message
        assert message.startswith(f"cannot reach the object store of {uri}: ")
    assert list(tmp_path.iterdir()) == []

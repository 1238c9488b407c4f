"""The KServe model server in a child process: where it listens, what it answers, how it stops."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.protocols import PROTOCOLS, InferenceClient
from kfp_mlops.components.common.tables import read_parquet
from kfp_mlops.components.serving.local_server import running_model_server

pytestmark = pytest.mark.slow

SERVER_MODULE = "kfp_mlops.components.serving.model_server"


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """The (address, port) of every TCP socket that process ``pid`` listens on (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:  # the descriptor closed between listing and reading it
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:
                continue
            address_hex, port_hex = local.split(":")
            raw = bytes.fromhex(address_hex)
            # /proc/net prints the address as native-endian 32-bit words.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.add((socket.inet_ntop(family, words), int(port_hex, 16)))
    return found


def is_running(pid: int) -> bool:
    """True while a process ``pid`` exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def wait_until_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while is_running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not is_running(pid)


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    host, port = url.split("//")[1].split("/")[0].split(":")
    path = "/" + url.split("//")[1].split("/", 1)[1]
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def test_features(breast_cancer_model, breast_cancer_splits):
    _, metadata = breast_cancer_model
    return read_parquet(breast_cancer_splits["test"]).to_pandas()[metadata["feature_columns"]]


@pytest.fixture(scope="module")
def server(breast_cancer_model):
    folder, _ = breast_cancer_model
    with running_model_server(folder, model_name="cancer") as running:
        yield running


def test_server_listens_on_loopback_only(server):
    assert listening_addresses(server.pid) == {("127.0.0.1", server.port)}
    assert server.url == f"http://127.0.0.1:{server.port}"


def test_every_protocol_answers_the_offline_predictions(server, breast_cancer_model, test_features):
    folder, _ = breast_cancer_model
    offline = joblib.load(folder / "model.joblib").predict(test_features)
    client = InferenceClient(server.url)
    try:
        for protocol in PROTOCOLS:
            reply = client.post(
                protocol.path("cancer"), protocol.body(test_features, f"id-{protocol.name}")
            )
            assert reply.status == 200, (protocol.name, reply.body)
            np.testing.assert_array_equal(protocol.answer(reply.body), offline)
    finally:
        client.close()


def test_v2_answer_echoes_the_request_id(server, test_features):
    client = InferenceClient(server.url)
    try:
        v2 = PROTOCOLS[2]
        reply = client.post(v2.path("cancer"), v2.body(test_features.head(3), "check-42"))
    finally:
        client.close()
    assert reply.status == 200
    assert reply.body["id"] == "check-42"
    assert reply.body["model_name"] == "cancer"
    assert reply.body["outputs"][0]["shape"] == [3]


def test_bad_input_is_an_http_500_with_the_models_message(server):
    client = InferenceClient(server.url)
    try:
        reply = client.post("/v1/models/cancer:predict", {"instances": [[1.0, 2.0]]})
    finally:
        client.close()
    assert reply.status == 500
    assert "features" in reply.body["error"]


def test_prometheus_metrics_are_served(server, test_features):
    status, text = get(f"{server.url}/metrics")

    assert status == 200
    assert "# TYPE" in text
    assert 'model_name="cancer"' in text


def test_server_process_is_gone_after_the_block(breast_cancer_model):
    folder, _ = breast_cancer_model
    with running_model_server(folder) as running:
        assert is_running(running.pid)
    assert not is_running(running.pid)


def test_server_process_is_gone_after_an_error_in_the_block(breast_cancer_model):
    folder, _ = breast_cancer_model
    with pytest.raises(RuntimeError, match="boom"), running_model_server(folder) as running:
        pid = running.pid
        raise RuntimeError("boom")
    assert not is_running(pid)


def test_server_stops_when_its_caller_dies(breast_cancer_model, tmp_path):
    folder, _ = breast_cancer_model
    caller = (
        "import os, sys\n"
        "from kfp_mlops.components.serving.local_server import running_model_server\n"
        "with running_model_server(sys.argv[1]) as server:\n"
        "    print(server.pid, flush=True)\n"
        "    os._exit(0)\n"  # dies without running any cleanup
    )
    finished = subprocess.run(
        [sys.executable, "-c", caller, str(folder)], capture_output=True, text=True, timeout=120
    )
    pid = int(finished.stdout.strip())

    assert wait_until_gone(pid, timeout=15)


def test_forbidden_global_stops_the_server_naming_it(tmp_path):
    sentinel = tmp_path / "pwned"

    class WritesSentinel:
        def __reduce__(self):
            return (os.system, (f"touch {sentinel}",))

    model_dir = tmp_path / "model"
    model_dir.mkdir()
    joblib.dump(WritesSentinel(), model_dir / "model.joblib")

    with (
        pytest.raises(ComponentInputError) as raised,
        running_model_server(model_dir),
    ):
        pass
    message = str(raised.value)
    assert "http://127.0.0.1:" in message
    assert "exited with code 2 before it was ready" in message
    assert "refers to posix.system" in message
    assert not sentinel.exists()


def test_two_model_files_stop_the_server_naming_them(breast_cancer_model, tmp_path):
    folder, _ = breast_cancer_model
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "model.joblib").write_bytes((folder / "model.joblib").read_bytes())
    (model_dir / "model.pkl").write_bytes((folder / "model.joblib").read_bytes())

    with (
        pytest.raises(
            ComponentInputError, match=r"holds 2 model files \(model\.joblib, model\.pkl\)"
        ),
        running_model_server(model_dir),
    ):
        pass


def test_command_line_serves_on_loopback_and_answers_probabilities(
    breast_cancer_model, test_features
):
    folder, _ = breast_cancer_model
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            SERVER_MODULE,
            "--model-dir",
            str(folder),
            "--port",
            str(port),
            "--predict-proba",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if get(f"http://127.0.0.1:{port}/v2/health/ready")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        assert listening_addresses(process.pid) == {("127.0.0.1", port)}
        client = InferenceClient(f"http://127.0.0.1:{port}")
        try:
            v1 = PROTOCOLS[0]
            reply = client.post(v1.path("model"), v1.body(test_features.head(5), "unused"))
        finally:
            client.close()
        offline = joblib.load(folder / "model.joblib").predict_proba(test_features.head(5))
        np.testing.assert_allclose(np.asarray(reply.body["predictions"]), offline, rtol=1e-12)
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=30)
    # uvicorn shuts down gracefully, then exits by the signal it caught.
    assert process.returncode in (0, -signal.SIGTERM)
    assert "Finished server process" in log
    assert f"at http://127.0.0.1:{port} (V1 /v1/models/model:predict" in log


def test_command_line_help_names_its_options():
    finished = subprocess.run(
        [sys.executable, "-m", SERVER_MODULE, "--help"], capture_output=True, text=True, timeout=60
    )

    assert finished.returncode == 0
    for option in ("--model-dir", "--name", "--host", "--port", "--predict-proba"):
        assert option in finished.stdout
    assert "127.0.0.1" in finished.stdout


def test_connections_to_the_server_socket_send_without_delay():
    # asyncio sets TCP_NODELAY on an accepted connection only when the listening socket's proto
    # is IPPROTO_TCP; without it, each answer of the server waited for the client's delayed ACK.
    import asyncio

    from kfp_mlops.components.serving.model_server import listening_socket

    listener = listening_socket("127.0.0.1", 0)

    async def nodelay_of_accepted() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connection = writer.get_extra_info("socket")
            seen.set_result(connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(accepted, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
            try:
                return await asyncio.wait_for(seen, 10)
            finally:
                writer.close()

    assert asyncio.run(nodelay_of_accepted()) != 0

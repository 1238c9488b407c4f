"""Run the KServe model server for a model directory in a child process on 127.0.0.1.

The parent binds a listening socket to 127.0.0.1 on a free port and hands it to the child
(``python -m kfp_mlops.components.serving.model_server --fd N``), so the port cannot be taken in
between and the server never listens on another interface. The child's output goes to a log file;
when it fails to start, its last line (for a model it refuses: the global it refused) becomes the
error. The child is stopped when the block ends, however it ends, and also stops by itself if
this process dies first.
"""

import contextlib
import dataclasses
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from kfp_mlops.components.common.errors import ComponentInputError

SERVER_MODULE = "kfp_mlops.components.serving.model_server"
LOOPBACK = "127.0.0.1"


@dataclasses.dataclass(frozen=True)
class LocalModelServer:
    """A model server running in a child process.

    Attributes:
        url: Base URL, ``http://127.0.0.1:PORT``.
        model_name: The name in the endpoint paths.
        pid: The child process's id.
        log_path: File holding the child's output.
    """

    url: str
    model_name: str
    pid: int
    log_path: Path

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self.url.rsplit(":", 1)[1])


def _last_line(log_path: Path) -> str:
    """The last non-blank line the child wrote; the whole log is copied to stderr as well."""
    text = log_path.read_text(encoding="utf-8", errors="replace")
    print(f"--- log of the model server that did not start ---\n{text}", file=sys.stderr)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(it wrote nothing)"


def _is_ready(port: int, model_name: str) -> bool:
    """True once the server answers 200 to V2 server-ready and model-ready."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=2)
    try:
        for path in ("/v2/health/ready", f"/v2/models/{model_name}/ready"):
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200 or not json.loads(body).get("ready"):
                return False
        return True
    except (OSError, http.client.HTTPException, json.JSONDecodeError):
        return False
    finally:
        connection.close()


def _wait_until_ready(
    process: subprocess.Popen[bytes],
    server: LocalModelServer,
    model_dir: str | os.PathLike[str],
    timeout: float,
) -> None:
    deadline = time.monotonic() + timeout
    while not _is_ready(server.port, server.model_name):
        code = process.poll()
        if code is not None:
            raise ComponentInputError(
                f"the KServe model server for {model_dir} at {server.url} exited with code {code} "
                f"before it was ready: {_last_line(server.log_path)}"
            )
        if time.monotonic() > deadline:
            raise ComponentInputError(
                f"the KServe model server for {model_dir} at {server.url} was not ready after "
                f"{timeout:g} s; its last log line: {_last_line(server.log_path)}"
            )
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM (uvicorn's graceful shutdown), then SIGKILL if it has not exited in ``timeout``."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


@dataclasses.dataclass(frozen=True)
class StartingModelServer:
    """A model server whose process has started; :meth:`ready` waits until it answers."""

    process: subprocess.Popen[bytes]
    server: LocalModelServer
    model_dir: str | os.PathLike[str]
    startup_timeout: float

    def ready(self) -> LocalModelServer:
        """Waits until the server reports itself and its model ready.

        Raises:
            ComponentInputError: The server exited before it was ready (the message ends with its
                last log line, e.g. the global a refused model file names) or was not ready in
                time.
        """
        _wait_until_ready(self.process, self.server, self.model_dir, self.startup_timeout)
        return self.server


@contextlib.contextmanager
def starting_model_server(
    model_dir: str | os.PathLike[str],
    model_name: str = "model",
    startup_timeout: float = 120.0,
    stop_timeout: float = 10.0,
) -> Iterator[StartingModelServer]:
    """Starts the KServe model server for ``model_dir`` on 127.0.0.1 without waiting for it.

    The caller can work while the server imports KServe and loads the model (on a machine with
    more than one core, in parallel), then call ``ready()``. The server is stopped when the block
    ends, however it ends.

    Args:
        model_dir: Directory holding exactly one model file.
        model_name: The name in the endpoint paths.
        startup_timeout: Seconds ``ready()`` waits for the server to report itself ready.
        stop_timeout: Seconds to wait for a graceful stop before killing the process.

    Yields:
        The starting server.
    """
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(
            tempfile.NamedTemporaryFile(prefix="model-server-", suffix=".log")
        )
        with socket.create_server((LOOPBACK, 0)) as listener:
            port = listener.getsockname()[1]
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    SERVER_MODULE,
                    "--model-dir",
                    os.fspath(model_dir),
                    "--name",
                    model_name,
                    "--fd",
                    str(listener.fileno()),
                    "--parent-pid",
                    str(os.getpid()),
                ],
                pass_fds=(listener.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        stack.callback(_stop, process, stop_timeout)
        server = LocalModelServer(
            url=f"http://{LOOPBACK}:{port}",
            model_name=model_name,
            pid=process.pid,
            log_path=Path(log.name),
        )
        yield StartingModelServer(process, server, model_dir, startup_timeout)


@contextlib.contextmanager
def running_model_server(
    model_dir: str | os.PathLike[str],
    model_name: str = "model",
    startup_timeout: float = 120.0,
    stop_timeout: float = 10.0,
) -> Iterator[LocalModelServer]:
    """Starts the KServe model server for ``model_dir`` on 127.0.0.1 and stops it afterwards.

    Args:
        model_dir: Directory holding exactly one model file.
        model_name: The name in the endpoint paths.
        startup_timeout: Seconds to wait for the server to report itself ready.
        stop_timeout: Seconds to wait for a graceful stop before killing the process.

    Yields:
        The running server, ready for requests.

    Raises:
        ComponentInputError: The server exited before it was ready (the message ends with its last
            log line, e.g. the global a refused model file names) or was not ready in time.
    """
    with starting_model_server(model_dir, model_name, startup_timeout, stop_timeout) as starting:
        yield starting.ready()

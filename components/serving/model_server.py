"""Serve a model directory with the KServe model server, as the stock sklearn runtime serves it.

Run it as::

    python -m kfp_mlops.components.serving.model_server --model-dir DIR [--name model]
        [--host 127.0.0.1] [--port 8080] [--predict-proba]

It loads the directory's one model file with our restricted unpickler (``model_loading``; the
stock runtime itself uses plain ``joblib.load``) and answers the
same endpoints as a KServe InferenceService: V1 ``POST /v1/models/NAME:predict``, V2 (Open
Inference Protocol) ``POST /v2/models/NAME/infer``, health at ``/v2/health/ready``, and Prometheus
metrics at ``/metrics``. It listens on 127.0.0.1 unless told otherwise, and stops on SIGINT or
SIGTERM.

KServe's ``ModelServer.start`` always listens on 0.0.0.0 (the REST server hard-codes the host:
kserve 0.21.0 ``kserve/protocol/rest/server.py``, ``RESTServer.__init__``, ``host="0.0.0.0"``) and
opens a gRPC port as well (``kserve/model_server.py``, ``--enable_grpc`` defaults to True and
``ModelServer.start`` starts a ``GRPCServer``), so this module builds the same pieces itself: a
``ModelServer`` holds the model registry and data plane, kserve's ``RESTServer`` builds the SDK's
FastAPI app and uvicorn configuration, and uvicorn serves it on a socket bound here to the chosen
host (the ``sockets`` parameter that kserve's own multi-worker server uses), on the event loop
``ModelServer.start`` uses.

Importing this module imports kserve, which reads ``sys.argv`` for its own options when first
imported (kserve 0.21.0 ``kserve/model_server.py``: a module-level ``parser.parse_known_args()``,
so options it does not know are ignored); it is meant to run as its own process (see
:mod:`.local_server`).
"""

import argparse
import asyncio
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import kserve
import uvicorn
from kserve.constants.constants import DEFAULT_HTTP_PORT, FASTAPI_APP_IMPORT_STRING
from kserve.errors import InferenceError
from kserve.protocol.infer_type import InferRequest, InferResponse
from kserve.protocol.rest.server import RESTServer
from kserve.utils.utils import get_predict_input, get_predict_response

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.model_loading import load_model_dir

DEFAULT_HOST = "127.0.0.1"
PREDICT_PROBA_ENV = "PREDICT_PROBA"
"""The environment variable with which the stock runtime answers class probabilities.

kserve@aaac4e2 (0.20.0) ``python/sklearnserver/sklearnserver/model.py``, ``ENV_PREDICT_PROBA``. The
stock runtime falls back to ``predict`` when the model has no ``predict_proba``; this server refuses
to start instead.
"""


class SklearnModel(kserve.Model):
    """A model directory's one sklearn model file, answering V1 and V2 requests.

    It behaves as the stock KServe sklearn runtime: the request's instances become a numpy array
    (V1 rows, V2 tensors) or a pandas DataFrame (V1 ``{"instances": [{"col": [...]}]}`` and V2
    with ``parameters.content_type = "pd"``) through ``kserve.utils.utils.get_predict_input``
    (kserve 0.21.0), the model's ``predict`` (or ``predict_proba``) answers, and
    ``get_predict_response`` shapes the reply. Two differences from the stock runtime
    (kserve@aaac4e2 ``python/sklearnserver/sklearnserver/model.py``, ``SKLearnModel``): asked for
    ``predict_proba``, a model without it is refused at load, where the stock runtime silently
    answers ``predict``; and the model file is loaded with the restricted unpickler.
    """

    def __init__(self, name: str, model_dir: str, predict_proba: bool = False) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        self.predict_proba = predict_proba
        self._model: Any = None

    def load(self) -> bool:
        """Loads the model file; raises :class:`ComponentInputError` naming what is wrong."""
        self._model = load_model_dir(self.model_dir)
        if self.predict_proba and not hasattr(self._model, "predict_proba"):
            raise ComponentInputError(
                f"--predict-proba was asked but the {type(self._model).__name__} in "
                f"{self.model_dir} has no predict_proba"
            )
        self.ready = True
        return self.ready

    def predict(
        self, payload: dict | InferRequest, headers: dict[str, str] | None = None
    ) -> dict | InferResponse:
        """Predicts the request's instances; input the model rejects is answered with HTTP 500.

        As in the stock runtime, the model's error message becomes the answer's ``error``: kserve
        0.21.0 ``kserve/errors.py``, ``inference_error_handler``, answers ``InferenceError`` with
        500 and ``{"error": str(exc)}``. The stock ``SKLearnModel.predict`` (kserve@aaac4e2) wraps
        every exception so; other exceptions here reach ``generic_exception_handler``: still 500,
        with ``"TypeName : message"`` as the error.
        """
        instances = get_predict_input(payload)
        try:
            if self.predict_proba:
                result = self._model.predict_proba(instances)
            else:
                result = self._model.predict(instances)
        except (ValueError, TypeError, KeyError, IndexError) as error:
            raise InferenceError(str(error)) from error
        return get_predict_response(payload, result, self.name)


def base_url(host: str, port: int) -> str:
    """``http://HOST:PORT``, with an IPv6 host in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host:port`` (port 0: a free port the system picks)."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    created = socket.create_server((host, port), family=family)
    # create_server leaves the socket's proto at 0, which its accepted connections inherit, and
    # asyncio sets TCP_NODELAY only where proto is IPPROTO_TCP (CPython 3.11,
    # asyncio/base_events.py, _set_nodelay): without it every answer waits for the client's
    # delayed ACK (about 40 ms). Rebuilt from its descriptor, the socket reads its real proto.
    return socket.socket(fileno=created.detach())


def serve(model: SklearnModel, listener: socket.socket) -> None:
    """Serves the loaded ``model`` on ``listener`` until SIGINT or SIGTERM.

    The event loop is the one ``kserve.ModelServer.start`` gives a single-worker server (kserve
    0.21.0, ``kserve/model_server.py``): the standard library's, through ``asyncio.run``, with
    uvicorn's ``Server.serve`` awaited as ``RESTServer.start`` awaits it. ``RESTServer.run`` would
    go through uvicorn's ``Server.run``, whose ``loop="auto"`` picks uvloop: measured under 8
    concurrent clients (BENCHMARKS.md, issue 20), that gave the same CPU per request but a p99
    up to 1.7x the stock server's.
    """
    server = kserve.ModelServer(
        http_port=listener.getsockname()[1], enable_grpc=False, enable_docs_url=False
    )
    server.register_model(model)
    model.enable_latency_logging = server.enable_latency_logging
    rest = RESTServer(
        FASTAPI_APP_IMPORT_STRING,
        server.dataplane,
        server.model_repository_extension,
        listener.getsockname()[1],
        grace_period=5,
    )
    rest.create_application()
    asyncio.run(uvicorn.Server(rest.config).serve(sockets=[listener]))


def _exit_with_parent(parent_pid: int) -> None:
    """Stops this server (as SIGTERM would) once process ``parent_pid`` has ended."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m kfp_mlops.components.serving.model_server``."""
    parser = argparse.ArgumentParser(
        prog="python -m kfp_mlops.components.serving.model_server",
        description="Serve a model directory with the KServe model server, as the stock KServe "
        "sklearn runtime does (V1 and V2 REST, /metrics).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument(
        "--model-dir",
        required=True,
        help="Directory holding exactly one .joblib/.pkl/.pickle model file.",
    )
    parser.add_argument(
        "--name", default="model", help="Model name in the URL paths (/v1/models/NAME:predict)."
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="Address to listen on.")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_HTTP_PORT,
        help="TCP port to listen on; 0 picks a free one (the log names it).",
    )
    parser.add_argument(
        "--predict-proba",
        action="store_true",
        default=os.environ.get(PREDICT_PROBA_ENV, "false").lower() == "true",
        help=f"Answer predict_proba instead of predict (default from ${PREDICT_PROBA_ENV}, as "
        "in the stock runtime).",
    )
    parser.add_argument(
        "--fd",
        type=int,
        help="Serve on this inherited, already listening socket instead of --host/--port.",
    )
    parser.add_argument(
        "--parent-pid",
        type=int,
        help="Stop when the process with this id (the caller that started the server) ends.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Loads the model, listens, and serves until stopped; exits 2 with one line on bad input."""
    parser = build_parser()
    args = parser.parse_args(argv)
    model = SklearnModel(args.name, args.model_dir, predict_proba=args.predict_proba)
    try:
        model.load()
    except ComponentInputError as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    if args.fd is not None:
        listener = socket.socket(fileno=args.fd)
    else:
        try:
            listener = listening_socket(args.host, args.port)
        except OSError as error:
            parser.exit(
                2, f"{parser.prog}: error: cannot listen on {args.host}:{args.port}: {error}\n"
            )
    if args.parent_pid is not None:
        _exit_with_parent(args.parent_pid)
    host, port = listener.getsockname()[:2]
    print(
        f"serving model {args.name!r} from {args.model_dir} at {base_url(host, port)} "
        f"(V1 /v1/models/{args.name}:predict, V2 /v2/models/{args.name}/infer, /metrics)",
        file=sys.stderr,
        flush=True,
    )
    serve(model, listener)


if __name__ == "__main__":
    main()

"""A stand-in for Triton answering V2 inference requests with a Model's ONNX export.

There is no Triton here. This HTTP server takes what a Triton-served ONNX model takes (the graph's
input tensors by name, ``POST /v2/models/model/infer``), runs the graph in ONNX Runtime and answers
with the outputs the request names (all of the graph's when it names none), as Triton does. It
serves both layouts: an sklearn Model's export (one ``[rows, 1]`` tensor per feature column,
answering ``label``) and a PyTorch Model's ``model/1/model.onnx`` (one FP32 ``features`` tensor
``[rows, n_features]``, answering ``probabilities``). ``GET /v2/models/model/ready`` answers 200.

Before running the graph it checks each request against the model's ``config.pbtxt`` (beside the
version folder holding the ONNX file), as Triton's ``InferenceRequest::Normalize`` does
(triton-inference-server/core ``src/infer_request.cc``): an input the configuration does not name
("unexpected inference input 'x' for model 'model'"), a missing input, a datatype other than the
configured one ("inference input data-type is 'FP64', model expects 'FP32' for 'model'") or a shape
that does not match the configured dims, ``-1`` matching any size ("unexpected shape for input 'x'
for model 'model'. Expected [-1,1], got [5]") are answered 400 with that message; the data are then
read as the declared datatype, not cast. It does not implement Triton's other endpoints, batching
or binary tensors. Imported as ``deployment.onnx_v2_server`` (pytest puts tests/ on the path).
"""

import contextlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import onnxruntime
from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

DATATYPES = {
    np.dtype(np.float32): "FP32",
    np.dtype(np.float64): "FP64",
    np.dtype(np.int64): "INT64",
    np.dtype(np.int32): "INT32",
    np.dtype(np.bool_): "BOOL",
}
"""numpy dtypes of graph outputs to V2 datatypes; anything else (text) is BYTES."""

NUMPY_TYPES = {
    "FP32": np.float32,
    "FP64": np.float64,
    "INT64": np.int64,
    "INT32": np.int32,
    "BOOL": np.bool_,
    "BYTES": object,
}
"""V2 datatypes of request tensors to the numpy dtypes their data are read as."""

_INPUT = re.compile(
    r'\{\s*name:\s*"(?P<name>[^"]+)"\s*data_type:\s*TYPE_(?P<type>\w+)\s*'
    r"dims:\s*\[(?P<dims>[^\]]*)\]\s*\}"
)


def configured_inputs(config_file: Path) -> dict[str, tuple[str, list[int]]]:
    """The ``input [...]`` entries of a config.pbtxt: name to (V2 datatype, dims).

    Triton's TYPE_STRING is the V2 protocol's BYTES; the other TYPE_X are X.
    """
    text = config_file.read_text(encoding="utf-8")
    section = text[text.index("input [") : text.index("output [")]
    found = {}
    for match in _INPUT.finditer(section):
        datatype = match["type"]
        dims = [int(item) for item in match["dims"].replace(" ", "").split(",") if item]
        found[match["name"]] = ("BYTES" if datatype == "STRING" else datatype, dims)
    return found


def _dims(values: list[int]) -> str:
    return "[" + ",".join(str(value) for value in values) + "]"


def check_inputs(
    request: dict, inputs: dict[str, tuple[str, list[int]]], model_name: str
) -> str | None:
    """Triton's refusal of a request's inputs, or None when they match the configuration."""
    tensors = request.get("inputs", [])
    for tensor in tensors:
        if tensor["name"] not in inputs:
            return f"unexpected inference input '{tensor['name']}' for model '{model_name}'"
    if len(tensors) != len(inputs):
        return (
            f"expected {len(inputs)} inputs but got {len(tensors)} inputs for model '{model_name}'"
        )
    for tensor in tensors:
        datatype, dims = inputs[tensor["name"]]
        if tensor["datatype"] != datatype:
            return (
                f"inference input data-type is '{tensor['datatype']}', model expects "
                f"'{datatype}' for '{model_name}'"
            )
        shape = list(tensor["shape"])
        if len(shape) != len(dims) or any(
            want != -1 and want != got for want, got in zip(dims, shape, strict=True)
        ):
            return (
                f"unexpected shape for input '{tensor['name']}' for model '{model_name}'. "
                f"Expected {_dims(dims)}, got {_dims(shape)}"
            )
    return None


Tamper = Callable[[str, np.ndarray], np.ndarray]
"""Changes an output (by name) before it is answered: a server giving wrong answers."""


@contextlib.contextmanager
def onnx_v2_server(
    onnx_file: Path,
    model_name: str = "model",
    tamper: Tamper | None = None,
    received: list[dict] | None = None,
) -> Iterator[str]:
    """Serves ``onnx_file`` on 127.0.0.1; yields the base URL.

    Args:
        onnx_file: The ONNX graph to answer with.
        model_name: The model's name in request paths.
        tamper: Applied to each output before it is answered.
        received: Each inference request's JSON body is appended here.
    """
    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    inputs = configured_inputs(Path(onnx_file).parent.parent / "config.pbtxt")
    graph_outputs = [output.name for output in session.get_outputs()]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, code: int, body: dict) -> None:
            payload = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            if self.path == f"/v2/models/{model_name}/ready":
                self._answer(200, {})
            else:
                self._answer(404, {"error": f"unknown path {self.path}"})

        def do_POST(self) -> None:
            if self.path != f"/v2/models/{model_name}/infer":
                self._answer(404, {"error": f"unknown path {self.path}"})
                return
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if received is not None:
                received.append(request)
            names = [item["name"] for item in request.get("outputs", [])] or graph_outputs
            unknown = [name for name in names if name not in graph_outputs]
            if unknown:
                error = f"unexpected inference output '{unknown[0]}' for model '{model_name}'"
                self._answer(400, {"error": error})
                return
            refusal = check_inputs(request, inputs, model_name)
            if refusal is not None:
                self._answer(400, {"error": refusal})
                return
            try:
                feeds = {}
                for tensor in request["inputs"]:
                    dtype = NUMPY_TYPES[tensor["datatype"]]
                    feeds[tensor["name"]] = np.asarray(tensor["data"], dtype=dtype).reshape(
                        tensor["shape"]
                    )
                results = session.run(names, feeds)
            except (ort_errors.Fail, ort_errors.InvalidArgument, KeyError, ValueError) as error:
                self._answer(400, {"error": str(error)})
                return
            outputs = []
            for name, values in zip(names, results, strict=True):
                values = np.asarray(values)
                if tamper is not None:
                    values = np.asarray(tamper(name, values))
                outputs.append(
                    {
                        "name": name,
                        "datatype": DATATYPES.get(values.dtype, "BYTES"),
                        "shape": list(values.shape),
                        "data": values.reshape(-1).tolist(),
                    }
                )
            self._answer(
                200, {"model_name": model_name, "id": request.get("id"), "outputs": outputs}
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

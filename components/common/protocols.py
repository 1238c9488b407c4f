"""The request forms users send to a KServe sklearn model, and a client that times them.

Three forms reach the model differently in the stock runtime, so a serve-check sends all three:

- ``v1-rows``: V1 ``{"instances": [[...], ...]}``, one list per row in feature-column order; the
  model receives a numpy array.
- ``v1-pandas``: V1 ``{"instances": [{"column": [values], ...}]}``; the model receives a DataFrame.
- ``v2``: V2 (Open Inference Protocol) with one input tensor per column and
  ``parameters.content_type = "pd"``; the model receives a DataFrame. The request always carries an
  ``id`` (kserve 0.21 answers HTTP 500 to a V2 request without one: the response model requires
  ``id: str``, kserve 0.21.0 ``kserve/protocol/rest/v2_datamodels.py``, ``InferenceResponse``,
  validated in ``v2_endpoints.py``, ``V2Endpoints.infer``).

Bodies are built from typed values with ``json``; a missing value is sent as JSON ``null``.
"""

# pandas is imported for type checking only: the serve-check imports this module before it starts
# the model server, and reads the test rows (importing pandas) while the server starts.
from __future__ import annotations

import dataclasses
import http.client
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import numpy as np

from kfp_mlops.components.common.errors import ComponentInputError

if TYPE_CHECKING:
    import pandas as pd

_V2_DATATYPES = {
    "b": {1: "BOOL"},
    "i": {1: "INT8", 2: "INT16", 4: "INT32", 8: "INT64"},
    "u": {1: "UINT8", 2: "UINT16", 4: "UINT32", 8: "UINT64"},
    "f": {2: "FP16", 4: "FP32", 8: "FP64"},
}


def json_values(column: pd.Series) -> list[object]:
    """The column's values as JSON-ready Python values, missing ones as None."""
    if column.dtype.kind in "mM":
        raise ComponentInputError(
            f"column {column.name!r} holds {column.dtype} values, which a JSON request cannot "
            "carry as such; the KServe sklearn runtime takes numbers, booleans and strings"
        )
    values = column.astype(object)
    return values.where(column.notna(), None).tolist()


def v2_datatype(column: pd.Series) -> str:
    """The V2 tensor datatype for a column: BOOL, INTn, UINTn, FPn, or BYTES for text."""
    by_size = _V2_DATATYPES.get(column.dtype.kind)
    if by_size is not None and column.dtype.itemsize in by_size:
        return by_size[column.dtype.itemsize]
    json_values(column)  # refuses date and time columns, naming them
    return "BYTES"


def v1_rows_body(frame: pd.DataFrame, request_id: str) -> dict[str, object]:
    """V1 rows: ``{"instances": [[v, ...], ...]}`` in the frame's column order."""
    columns = [json_values(frame[name]) for name in frame.columns]
    return {"instances": [list(row) for row in zip(*columns, strict=True)]}


def v1_pandas_body(frame: pd.DataFrame, request_id: str) -> dict[str, object]:
    """V1 pandas form: ``{"instances": [{"column": [values], ...}]}``."""
    return {"instances": [{name: json_values(frame[name]) for name in frame.columns}]}


def v2_body(frame: pd.DataFrame, request_id: str) -> dict[str, object]:
    """V2 Open Inference Protocol request: a tensor per column, ``content_type`` pd, an id."""
    return {
        "id": request_id,
        "parameters": {"content_type": "pd"},
        "inputs": [
            {
                "name": str(name),
                "shape": [len(frame)],
                "datatype": v2_datatype(frame[name]),
                "data": json_values(frame[name]),
            }
            for name in frame.columns
        ],
    }


def v1_answer(answer: dict[str, object]) -> np.ndarray:
    """The predictions of a V1 answer."""
    return np.asarray(answer["predictions"])


def v2_answer(answer: dict[str, object]) -> np.ndarray:
    """The first output tensor of a V2 answer, in its shape."""
    output = answer["outputs"][0]
    return np.asarray(output["data"]).reshape(output["shape"])


@dataclasses.dataclass(frozen=True)
class Protocol:
    """One request form: its name, what the report calls it, its endpoint, body and answer."""

    name: str
    description: str
    version: str
    body: Callable[[pd.DataFrame, str], dict[str, object]]
    answer: Callable[[dict[str, object]], np.ndarray]

    def path(self, model_name: str) -> str:
        """The endpoint path for ``model_name``."""
        if self.version == "v1":
            return f"/v1/models/{model_name}:predict"
        return f"/v2/models/{model_name}/infer"


PROTOCOLS = (
    Protocol("v1-rows", 'V1 `{"instances": [[...]]}` (numpy rows)', "v1", v1_rows_body, v1_answer),
    Protocol(
        "v1-pandas",
        'V1 `{"instances": [{"column": [...]}]}` (DataFrame)',
        "v1",
        v1_pandas_body,
        v1_answer,
    ),
    Protocol(
        "v2",
        'V2 Open Inference Protocol, `content_type: "pd"`, with `id`',
        "v2",
        v2_body,
        v2_answer,
    ),
)


@dataclasses.dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, the parsed JSON body (or the raw text), and the round trip in ms."""

    status: int
    body: object
    latency_ms: float


class InferenceClient:
    """Posts JSON to one server over a kept-alive connection and times each round trip."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def post(self, path: str, body: dict[str, object]) -> Reply:
        """Sends ``body`` to ``path``; the latency covers sending, the server's work and reading."""
        payload = json.dumps(body, allow_nan=False).encode()
        started = time.perf_counter()
        self._connection.request(
            "POST", path, body=payload, headers={"Content-Type": "application/json"}
        )
        response = self._connection.getresponse()
        raw = response.read()
        latency_ms = (time.perf_counter() - started) * 1000.0
        try:
            parsed: object = json.loads(raw)
        except json.JSONDecodeError:
            parsed = raw.decode("utf-8", "replace")
        return Reply(response.status, parsed, latency_ms)

    def close(self) -> None:
        """Closes the connection."""
        self._connection.close()

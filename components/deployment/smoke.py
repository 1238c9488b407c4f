"""The smoke request a rollout sends to a new revision before it gets all traffic.

A few test rows (the first ones without missing values) go to the revision in the form its runtime
takes, and the answer must equal the predictions of the deployed files computed here:

- ``sklearn`` (kserve-sklearnserver): V1 ``{"instances": [[...]]}`` to ``/v1/models/NAME:predict``;
  expected: ``model.joblib``'s predictions (loaded as the runtime loads it).
- ``onnx`` (kserve-tritonserver) of an sklearn Model: V2, one tensor per graph input, to
  ``/v2/models/model/infer``, asking for ``label``; expected: the export's ``label`` output in ONNX
  Runtime.
- ``onnx`` (kserve-tritonserver) of a PyTorch Model: V2, one FP32 tensor ``features``
  ``[rows, n_features]``, to ``/v2/models/model/infer``, asking for ``probabilities``; expected:
  the same ONNX file's probabilities in ONNX Runtime. The answer's predicted classes (the column
  of the highest probability, mapped to the Model's ``classes``) must equal the expected ones, and
  each probability must be within :data:`PROBABILITY_TOLERANCE` of the expected one.
- ``onnx`` of a regressor (the Model's task, read from its metadata: the ``onnx`` entry's
  ``task`` for an sklearn Model, ``task`` for a PyTorch one): the same request in the Model's
  layout, asking for ``predictions`` (FP32 ``[rows, 1]`` in both); expected: the same ONNX file's
  predictions in ONNX Runtime, each served number within :data:`PREDICTION_TOLERANCE` of it
  (relative to the row's scale). Labels and the sklearn runtime's answers stay exact.
"""

import dataclasses
import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from kfp_mlops.components.common.errors import ComponentInputError, ExternalSystemError
from kfp_mlops.components.common.model_loading import load_model_dir
from kfp_mlops.components.common.onnx_model import (
    OnnxClassifier,
    OnnxRegressor,
    TorchOnnxModel,
    TorchOnnxRegressorModel,
    predictions_output,
    v2_request,
)
from kfp_mlops.components.common.protocols import v1_answer, v1_rows_body
from kfp_mlops.components.common.tables import read_parquet
from kfp_mlops.components.deployment.kserve_manifest import ModelFormat

ATTEMPTS = 3
RETRY_SECONDS = 2.0
RETRIED_STATUSES = (502, 503, 504)
"""Gateway answers while a just-ready route converges; retried before the request fails."""

PROBABILITY_TOLERANCE = 0.01
"""Largest difference allowed between a served and an expected class probability. Triton runs the
same ONNX graph in float32, but on a GPU with other kernels (TF32 matrix products, say) than ONNX
Runtime on this CPU; a model with other weights differs by far more."""

PREDICTION_TOLERANCE = 1e-3
"""Largest difference allowed between a served and an expected regression prediction, relative to
``max(|expected|, mean |expected| of the smoke rows)`` (the mean keeps a prediction near zero from
asking for an exact match). Triton runs the same ONNX file in float32, so on the same kernels the
numbers agree to float32 rounding (about 1e-7 relative); but on a GPU its matrix products may run
in TF32, whose inputs keep 10 mantissa bits (rounding 2^-11, about 5e-4 relative per product), so
1e-5 would roll back a sound revision. A model with other weights or a wrong scaling misses by far
more than 0.1 % (a regressor's error on diabetes is some 30 % of the target's mean)."""


@dataclasses.dataclass(frozen=True)
class SmokeRequest:
    """One request and the predictions its answer must hold.

    Attributes:
        path: The request's path on the revision's URL.
        body: The JSON body.
        expected: The predictions the answer must hold, one per row.
        answer: Reads the predictions from the answer.
        expected_probabilities: ``[rows, n_classes]`` class probabilities the answer must hold
            (within ``tolerance``); None when the answer carries none.
        probabilities: Reads them from the answer.
        tolerance: Largest absolute difference allowed per probability.
        relative_tolerance: When set, the predictions are numbers compared within this share of
            each row's scale (see :data:`PREDICTION_TOLERANCE`); when None, exactly (labels).
    """

    path: str
    body: dict[str, object]
    expected: np.ndarray
    answer: Callable[[dict], np.ndarray]
    expected_probabilities: np.ndarray | None = None
    probabilities: Callable[[dict], np.ndarray] | None = None
    tolerance: float = PROBABILITY_TOLERANCE
    relative_tolerance: float | None = None

    def send(self, base_url: str, timeout: float = 30.0) -> None:
        """POSTs the request to ``base_url`` and compares the answer.

        Raises:
            ComponentInputError: No answer after :data:`ATTEMPTS` tries, an HTTP error, an answer
                without predictions, predictions that differ or probabilities off by more than
                the tolerance (the message names the row).
        """
        url = base_url.rstrip("/") + self.path
        payload = json.dumps(self.body, allow_nan=False).encode()
        reply = _post(url, payload, timeout)
        try:
            served = self.answer(reply)
        except (KeyError, IndexError, TypeError, ValueError):
            raise ComponentInputError(
                f"{url} answered without predictions: {json.dumps(reply)[:300]}"
            ) from None
        if served.shape != self.expected.shape:
            raise ComponentInputError(
                f"{url} answered {served.size} predictions for {len(self.expected)} rows"
            )
        if self.relative_tolerance is not None:
            self._check_numbers(url, served)
            return
        differing = np.flatnonzero(served.astype(object) != self.expected.astype(object))
        if differing.size:
            row = int(differing[0])
            raise ComponentInputError(
                f"{url} predicted {_plain(served[row])!r} for smoke row {row}, where the deployed "
                f"model predicts {_plain(self.expected[row])!r} ({differing.size} of "
                f"{len(self.expected)} differ)"
            )
        if self.expected_probabilities is not None and self.probabilities is not None:
            self._check_probabilities(url, reply)

    def _check_numbers(self, url: str, served: np.ndarray) -> None:
        expected = self.expected.astype(np.float64)
        scale = np.maximum(np.abs(expected), float(np.abs(expected).mean()))
        difference = np.nan_to_num(np.abs(served.astype(np.float64) - expected), nan=np.inf)
        off = np.flatnonzero(difference > self.relative_tolerance * scale)
        if off.size:
            row = int(off[0])
            raise ComponentInputError(
                f"{url} predicted {served[row]:.6g} for smoke row {row}, where the deployed model "
                f"predicts {expected[row]:.6g} (difference {difference[row]:.3g} > relative "
                f"tolerance {self.relative_tolerance:g} of {scale[row]:.4g}; {off.size} of "
                f"{len(expected)} differ)"
            )

    def _check_probabilities(self, url: str, reply: dict) -> None:
        expected = self.expected_probabilities
        try:
            served = self.probabilities(reply)
        except (KeyError, IndexError, TypeError, ValueError):
            raise ComponentInputError(
                f"{url} answered without probabilities: {json.dumps(reply)[:300]}"
            ) from None
        if served.shape != expected.shape:
            raise ComponentInputError(
                f"{url} answered probabilities of shape {list(served.shape)}, where the deployed "
                f"model gives {list(expected.shape)}"
            )
        difference = np.abs(served - expected)
        worst = np.nan_to_num(difference, nan=np.inf).max(axis=1)
        off = np.flatnonzero(worst > self.tolerance)
        if off.size:
            row = int(off[0])
            raise ComponentInputError(
                f"{url} answered probabilities {np.round(served[row], 4).tolist()} for smoke row "
                f"{row}, where the deployed model gives {np.round(expected[row], 4).tolist()} "
                f"(difference {worst[row]:.4g} > tolerance {self.tolerance:g}; {off.size} of "
                f"{len(expected)} rows differ)"
            )


def _plain(value: object) -> object:
    """A numpy scalar as the Python value, for messages (``1``, not ``np.int64(1)``)."""
    return value.item() if isinstance(value, np.generic) else value


def _post(url: str, payload: bytes, timeout: float) -> dict:
    problem = ""
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(RETRY_SECONDS)
        request = urllib.request.Request(
            url, data=payload, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:300]
            problem = f"HTTP {error.code}: {' '.join(detail.split())}"
            if error.code not in RETRIED_STATUSES:
                break
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            problem = str(getattr(error, "reason", error))
        except json.JSONDecodeError as error:
            problem = f"the answer is not JSON: {error}"
            break
    raise ExternalSystemError(f"POST {url} failed: {problem}")


def _label_output(answer: Mapping) -> np.ndarray:
    for output in answer["outputs"]:
        if output["name"] == "label":
            return np.asarray(output["data"]).reshape(-1)
    raise KeyError("label")


def smoke_rows(test_path: str, feature_columns: list[str], rows: int) -> pd.DataFrame:
    """The first ``rows`` test rows with no missing feature value.

    JSON cannot carry NaN for Triton; when every row has a gap, simply the first ones.

    Raises:
        ComponentInputError: ``rows`` is below 1, or the test split lacks feature columns or rows.
    """
    if rows < 1:
        raise ComponentInputError(f"smoke_rows {rows} is less than 1")
    table = read_parquet(test_path)
    missing = [name for name in feature_columns if name not in table.column_names]
    if missing:
        raise ComponentInputError(
            f"the test split {test_path} lacks the model's feature columns: {', '.join(missing)}"
        )
    frame = table.select(feature_columns).to_pandas()
    if frame.empty:
        raise ComponentInputError(f"the test split {test_path} has no rows for the smoke request")
    complete = frame.dropna()
    return (complete if not complete.empty else frame).head(rows).reset_index(drop=True)


def smoke_request(
    serving_format: ModelFormat,
    service_name: str,
    model_dir: str,
    model_metadata: Mapping[str, object],
    rows: pd.DataFrame,
) -> SmokeRequest:
    """The request for ``serving_format`` and what its answer must be.

    See the module's docstring; ``model_metadata``'s ``framework`` tells the two ONNX layouts apart,
    its task (:func:`model_task`) a classifier from a regressor.

    Raises:
        ComponentInputError: The Model's files are not what its metadata says (no ONNX export,
            no PyTorch manifest, another task), or the rows do not fit its input.
    """
    model_name = serving_format.model_name(service_name)
    if serving_format.name == "onnx" and model_task(model_metadata) == "regression":
        return _regressor_request(model_name, service_name, model_dir, model_metadata, rows)
    if serving_format.name == "onnx" and model_metadata.get("framework") == "pytorch":
        model = TorchOnnxModel(model_dir)
        expected, probabilities = model.run(rows)
        return SmokeRequest(
            path=f"/v2/models/{model_name}/infer",
            body=model.v2_request(rows, f"smoke-{service_name}"),
            expected=expected,
            answer=lambda reply: model.labels(model.probabilities_output(reply)),
            expected_probabilities=probabilities,
            probabilities=model.probabilities_output,
        )
    if serving_format.name == "onnx":
        classifier = OnnxClassifier(model_dir, model_metadata)
        expected, _ = classifier.run(rows)
        return SmokeRequest(
            path=f"/v2/models/{model_name}/infer",
            body=v2_request(classifier.layout, rows, f"smoke-{service_name}"),
            expected=expected,
            answer=_label_output,
        )
    model = load_model_dir(model_dir)
    return SmokeRequest(
        path=f"/v1/models/{model_name}:predict",
        body=v1_rows_body(rows, f"smoke-{service_name}"),
        expected=np.asarray(model.predict(rows)),
        answer=v1_answer,
    )


def model_task(model_metadata: Mapping[str, object]) -> str:
    """The Model's task as training recorded it in its metadata.

    A PyTorch Model's ``task``; an sklearn Model's ``onnx`` entry's ``task`` (the layout of the
    export Triton serves). A Model trained before regression existed records none: a classifier.
    """
    if model_metadata.get("framework") == "pytorch":
        return str(model_metadata.get("task") or "classification")
    onnx = model_metadata.get("onnx")
    task = onnx.get("task") if isinstance(onnx, Mapping) else None
    return str(task or "classification")


def _regressor_request(
    model_name: str,
    service_name: str,
    model_dir: str,
    model_metadata: Mapping[str, object],
    rows: pd.DataFrame,
) -> SmokeRequest:
    """The V2 request for a regressor's ONNX export, asking for ``predictions``."""
    request_id = f"smoke-{service_name}"
    if model_metadata.get("framework") == "pytorch":
        model = TorchOnnxRegressorModel(model_dir)
        body, expected = model.v2_request(rows, request_id), model.predict(rows)
    else:
        regressor = OnnxRegressor(model_dir, model_metadata)
        body = v2_request(regressor.layout, rows, request_id, output=regressor.output_name)
        expected = regressor.predict(rows)
    return SmokeRequest(
        path=f"/v2/models/{model_name}/infer",
        body=body,
        expected=expected,
        answer=predictions_output,
        relative_tolerance=PREDICTION_TOLERANCE,
    )


def model_ready_probe(serving_format: ModelFormat, service_name: str) -> Callable[[str], None]:
    """A check that the runtime's model-ready endpoint answers that the model is ready.

    For a revision whose test rows are not at hand (a rollback from the command line).

    sklearn (V1): ``GET /v1/models/NAME`` answers ``{"name": ..., "ready": true}``; V2:
    ``GET /v2/models/NAME/ready`` answers 200. Sources: kserve 0.21.0
    ``kserve/protocol/rest/v1_endpoints.py``, ``V1Endpoints.model_ready`` (503 ``ModelNotReady``
    otherwise); kserve@aaac4e2 ``docs/predict-api/v2/required_api.md``, "Health" (200 true, 4xx
    false), the protocol Triton implements (Triton's own source is not checked here).
    """
    model_name = serving_format.model_name(service_name)
    if serving_format.protocol == "v1":
        path = f"/v1/models/{model_name}"
    else:
        path = f"/v2/models/{model_name}/ready"

    def probe(base_url: str) -> None:
        url = base_url.rstrip("/") + path
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            raise ExternalSystemError(f"GET {url} answered HTTP {error.code}") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            raise ExternalSystemError(
                f"GET {url} failed: {getattr(error, 'reason', error)}"
            ) from None
        if serving_format.protocol == "v1":
            try:
                ready = json.loads(body).get("ready")
            except (json.JSONDecodeError, AttributeError):
                ready = None
            if ready is not True:
                raise ComponentInputError(
                    f"GET {url} does not say the model is ready: {body[:200]!r}"
                )

    return probe

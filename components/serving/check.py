"""Serve-check: prove a model loads and answers in the real KServe model server before deployment.

The model directory is served by the KServe model server (kserve SDK) on 127.0.0.1, in a child
process, as the stock sklearn runtime would serve it. The test rows, without the target, are sent in
every request form users send (:data:`.protocols.PROTOCOLS`), one row per request and then all rows
in one request, and every answer must equal the predictions of the same model file computed here,
offline, on a DataFrame of the same rows.

When the Model carries an ONNX export (training writes one), the same rows also go through it in
ONNX Runtime: its labels must equal the sklearn model's on at least ``onnx_min_agreement`` of the
rows. The export computes in float32, so a row within rounding of a tree's split threshold may
take the other branch; the share that agrees and the largest probability difference are reported.

A regressor's export (``task: regression`` in its ``onnx`` metadata) answers numbers, which float32
cannot make equal to the float64 sklearn predictions; the tolerance is :data:`ONNX_MIN_R2`: the
export's predictions must explain at least 99.9 % of the variance of the sklearn model's on the
test rows. Measured on diabetes (66 test rows; tests/deployment/test_onnx_regressors.py), linear
models and k-nearest neighbours agree to 1e-6 relative and a single tree exactly, while tree
ensembles move a few of their hundred trees to the other branch on many rows (random forest: up
to 3.7 on a target of spread 77; R² 0.9997); the share of rows equal within float32 rounding
(1e-4 relative) and the largest difference are reported.
"""

# pandas, scikit-learn and ONNX Runtime are imported once the model server is starting, so that
# the server's start and this process's imports run at the same time.
from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kfp_mlops.components.common.atomic import atomic_file
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.model_loading import find_model_file, load_model_file
from kfp_mlops.components.common.protocols import PROTOCOLS, InferenceClient, Protocol
from kfp_mlops.components.common.tables import read_parquet
from kfp_mlops.components.serving.local_server import LocalModelServer, starting_model_server

if TYPE_CHECKING:
    import pandas as pd

FLOAT_TOLERANCE = 1e-9
"""Relative difference allowed between served and offline float predictions (JSON round trip)."""

ONNX_MIN_AGREEMENT = 0.99
"""Default share of test rows on which the ONNX export must predict the sklearn model's label."""

ONNX_MIN_R2 = 0.999
"""The least R² of a regressor's ONNX predictions against its sklearn predictions (see above)."""

ONNX_ROUNDING = 1e-4
"""Relative difference within which a regressor's ONNX prediction counts as equal (float32)."""


@dataclasses.dataclass(frozen=True)
class OnnxComparison:
    """How the ONNX export's predictions compare with the sklearn model's on the test rows.

    ``agreement`` is None when the Model has no ONNX export; ``reason`` then says why.
    """

    agreement: float | None
    max_probability_difference: float | None
    disagreeing_rows: list[int]
    reason: str
    r2: float | None = None
    """A regressor's: R² of the export's predictions against the sklearn model's (else None)."""

    def metrics(self) -> dict[str, float]:
        """The comparison as serving metrics (none when the export was not checked)."""
        if self.agreement is None:
            return {}
        if self.r2 is not None:
            return {
                "onnx_rows_within_rounding": round(self.agreement, 6),
                "onnx_prediction_r2": float(self.r2),
                "onnx_max_prediction_difference": float(self.max_probability_difference),
            }
        return {
            "onnx_label_agreement": round(self.agreement, 6),
            "onnx_max_probability_difference": float(self.max_probability_difference),
        }

    def to_markdown(self) -> list[str]:
        """The report's ONNX section."""
        lines = ["", "## ONNX export", ""]
        if self.agreement is None:
            return [*lines, f"Not checked: {self.reason}", ""]
        if self.r2 is not None:
            lines.append(
                f"ONNX Runtime (float32) predictions against the sklearn model's: R² "
                f"{self.r2:.6f} (at least {ONNX_MIN_R2}), {self.agreement:.2%} of the rows equal "
                f"within {ONNX_ROUNDING:g} relative, largest difference "
                f"{self.max_probability_difference:.3g}."
            )
            return [*lines, ""]
        lines.append(
            f"ONNX Runtime (float32) predicts the sklearn model's label on {self.agreement:.2%} "
            f"of the rows; the largest class-probability difference is "
            f"{self.max_probability_difference:.2e}."
        )
        if self.disagreeing_rows:
            shown = ", ".join(str(row) for row in self.disagreeing_rows[:10])
            lines.append(f"Rows where the labels differ: {shown}.")
        return [*lines, ""]


@dataclasses.dataclass(frozen=True)
class ProtocolTiming:
    """Round-trip latencies of one request form, in milliseconds."""

    protocol: Protocol
    single_row_ms: list[float]
    batch_ms: float

    @property
    def key(self) -> str:
        """The protocol's name as a metric-name prefix (``v1_rows``)."""
        return self.protocol.name.replace("-", "_")

    def percentile(self, share: float) -> float:
        """A percentile (0-100) of the single-row latencies."""
        return float(np.percentile(self.single_row_ms, share))


@dataclasses.dataclass(frozen=True)
class ServeCheckResult:
    """What a passed serve-check measured."""

    endpoint: str
    model_name: str
    model_file: str
    rows_checked: int
    feature_columns: list[str]
    timings: list[ProtocolTiming]
    onnx: OnnxComparison

    def timing(self, protocol_name: str) -> ProtocolTiming:
        """The timings of the protocol named ``protocol_name``."""
        return next(t for t in self.timings if t.protocol.name == protocol_name)

    def metrics(self) -> dict[str, float]:
        """Rows checked and, per protocol, single-row p50/p95 and batch latency in ms."""
        values: dict[str, float] = {"rows_checked": self.rows_checked}
        for timing in self.timings:
            values[f"{timing.key}_latency_ms_p50"] = round(timing.percentile(50), 3)
            values[f"{timing.key}_latency_ms_p95"] = round(timing.percentile(95), 3)
            values[f"{timing.key}_batch_latency_ms"] = round(timing.batch_ms, 3)
        values.update(self.onnx.metrics())
        return values

    def to_markdown(self) -> str:
        """The report the KFP UI shows."""
        lines = [
            "# Serve check passed",
            "",
            f"Model `{self.model_name}` ({self.model_file}) loaded in the KServe model server "
            f"at {self.endpoint}, "
            + (
                "as ONNX Runtime runs a PyTorch Model's ONNX export. "
                if self.model_file.endswith(".onnx")
                else "as the stock sklearn runtime loads it. "
            )
            + f"{self.rows_checked} test "
            f"rows ({len(self.feature_columns)} feature columns, no target) were sent in each "
            "request form, one row per request and then all rows in one request; every answer "
            "equals the model file's offline predictions.",
            "",
            "| protocol | request | single-row p50 ms | single-row p95 ms | "
            f"batch of {self.rows_checked} ms |",
            "| --- | --- | ---: | ---: | ---: |",
        ]
        for timing in self.timings:
            lines.append(
                f"| {timing.protocol.name} | {timing.protocol.description} | "
                f"{timing.percentile(50):.2f} | {timing.percentile(95):.2f} | "
                f"{timing.batch_ms:.2f} |"
            )
        lines += [
            "",
            "Latencies are round trips measured by the client over one kept-alive loopback "
            "connection: sending, the server's work, reading the answer.",
            *self.onnx.to_markdown(),
        ]
        return "\n".join(lines)


def _first_difference(served: np.ndarray, offline: np.ndarray) -> int | None:
    """The position of the first row whose served answer differs from the offline one."""
    if served.shape != offline.shape:
        return 0
    if offline.dtype.kind == "f" and served.dtype.kind in "biuf":
        same = np.isclose(
            served.astype(float), offline, rtol=FLOAT_TOLERANCE, atol=0.0, equal_nan=True
        )
    else:
        same = np.asarray(served == offline)
        if same.shape != offline.shape:
            return 0
    same = same.reshape(len(offline), -1).all(axis=1)
    return None if same.all() else int(np.argmin(same))


def _check_answer(
    server: LocalModelServer,
    protocol: Protocol,
    client: InferenceClient,
    rows: pd.DataFrame,
    offline: np.ndarray,
    first_row: int,
) -> float:
    """Sends ``rows`` in the ``protocol`` form; returns the latency or raises naming the row."""
    request_id = f"serve-check-{protocol.name}-{first_row}-{len(rows)}"
    path = protocol.path(server.model_name)
    reply = client.post(path, protocol.body(rows, request_id))
    where = f"{protocol.name} request {server.url}{path} for test row {first_row}"
    if len(rows) > 1:
        where += f" and the {len(rows) - 1} rows after it"
    if reply.status != 200:
        detail = reply.body.get("error", reply.body) if isinstance(reply.body, dict) else reply.body
        raise ComponentInputError(f"serve-check: {where} answered HTTP {reply.status}: {detail}")
    try:
        served = protocol.answer(reply.body)
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise ComponentInputError(
            f"serve-check: {where} answered a body without predictions: {reply.body}"
        ) from error
    position = _first_difference(served, offline)
    if position is not None:
        shown = served[position].tolist() if served.shape == offline.shape else served.tolist()
        raise ComponentInputError(
            f"serve-check: {protocol.name} answer differs from the offline prediction at test row "
            f"{first_row + position}: served {shown!r}, offline "
            f"{offline[position].tolist()!r} ({server.url}{path})"
        )
    return reply.latency_ms


def check_served_predictions(
    server: LocalModelServer, features: pd.DataFrame, offline: np.ndarray
) -> list[ProtocolTiming]:
    """Sends each row alone and then all rows together in every protocol; compares and times them.

    Raises:
        ComponentInputError: An answer is an HTTP error or differs from ``offline``; the message
            names the protocol and the first test row concerned.
    """
    timings = []
    client = InferenceClient(server.url)
    try:
        for protocol in PROTOCOLS:
            single = [
                _check_answer(
                    server, protocol, client, features.iloc[[row]], offline[row : row + 1], row
                )
                for row in range(len(features))
            ]
            batch = _check_answer(server, protocol, client, features, offline, 0)
            timings.append(ProtocolTiming(protocol, single, batch))
    finally:
        client.close()
    return timings


def _feature_frame(
    test: pd.DataFrame,
    target_column: str,
    feature_columns: list[str] | None,
    test_path: str,
) -> pd.DataFrame:
    if target_column not in test.columns:
        raise ComponentInputError(
            f"target column {target_column!r} not found in the test dataset {test_path}; its "
            f"columns are: {', '.join(map(str, test.columns))}"
        )
    if feature_columns is None:
        return test.drop(columns=[target_column])
    missing = [name for name in feature_columns if name not in test.columns]
    if missing:
        raise ComponentInputError(
            f"the test dataset {test_path} lacks the model's feature columns: {', '.join(missing)}"
        )
    if target_column in feature_columns:
        raise ComponentInputError(
            f"target column {target_column!r} is one of the model's feature_columns"
        )
    return test[feature_columns]


def _offline_predictions(model: Any, features: pd.DataFrame, model_file: Path) -> np.ndarray:
    """The model's predictions on a DataFrame of the rows: what every answer must equal."""
    try:
        return np.asarray(model.predict(features))
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise ComponentInputError(
            f"the model in {model_file} cannot predict the test rows offline: {error}"
        ) from error


def compare_onnx(
    model_dir: str,
    model: Any,
    features: pd.DataFrame,
    onnx_metadata: Mapping[str, object] | None,
    min_agreement: float,
) -> OnnxComparison:
    """Runs the ONNX export on ``features`` and compares it with the sklearn ``model``.

    Raises:
        ComponentInputError: The labels agree on fewer than ``min_agreement`` of the rows (the
            message names the share and the first rows that differ).
    """
    if onnx_metadata is None:
        return OnnxComparison(None, None, [], "the Model's metadata has no 'onnx' entry")
    if not onnx_metadata.get("exported"):
        reason = str(onnx_metadata.get("reason", "training recorded no reason"))
        return OnnxComparison(None, None, [], f"the Model has no ONNX export ({reason})")
    if onnx_metadata.get("task") == "regression":
        return compare_onnx_regressor(model_dir, model, features, onnx_metadata)
    from kfp_mlops.components.common.onnx_model import OnnxClassifier

    labels, probabilities = OnnxClassifier(model_dir, {"onnx": onnx_metadata}).run(features)
    expected = np.asarray(model.predict(features))
    same = labels.astype(expected.dtype) == expected
    differing = [int(row) for row in np.flatnonzero(~same)]
    difference = float(np.abs(probabilities - model.predict_proba(features)).max())
    comparison = OnnxComparison(float(same.mean()), difference, differing, "")
    if comparison.agreement < min_agreement:
        rows = ", ".join(str(row) for row in differing[:5])
        raise ComponentInputError(
            f"serve-check: the ONNX export predicts the sklearn model's label on only "
            f"{comparison.agreement:.2%} of {len(features)} test rows (onnx_min_agreement "
            f"{min_agreement:.2%}); first differing rows: {rows}"
        )
    return comparison


def compare_onnx_regressor(
    model_dir: str, model: Any, features: pd.DataFrame, onnx_metadata: Mapping[str, object]
) -> OnnxComparison:
    """Runs a regressor's ONNX export on ``features`` and compares it with the sklearn ``model``.

    Raises:
        ComponentInputError: The export's predictions explain less than :data:`ONNX_MIN_R2` of the
            variance of the sklearn model's (the message names the R² and the worst rows).
    """
    from kfp_mlops.components.common.onnx_model import OnnxRegressor

    produced = OnnxRegressor(model_dir, {"onnx": onnx_metadata}).predict(features)
    expected = np.asarray(model.predict(features), dtype=np.float64)
    difference = np.abs(produced.astype(np.float64) - expected)
    scale = np.maximum(np.abs(expected), float(np.abs(expected).mean()))
    equal = difference <= ONNX_ROUNDING * scale
    total = float(((expected - expected.mean()) ** 2).sum())
    residual = float((difference**2).sum())
    r2 = 1.0 - residual / total if total > 0 else (1.0 if residual == 0 else 0.0)
    differing = [int(row) for row in np.argsort(-difference) if not equal[row]]
    comparison = OnnxComparison(float(equal.mean()), float(difference.max()), differing, "", r2=r2)
    if r2 < ONNX_MIN_R2:
        rows = ", ".join(str(row) for row in differing[:5])
        raise ComponentInputError(
            f"serve-check: the ONNX export's predictions reach R² {r2:.6f} against the sklearn "
            f"model's on {len(features)} test rows (at least {ONNX_MIN_R2} needed); most "
            f"different rows: {rows}"
        )
    return comparison


def run_serve_check(
    model_dir: str,
    test_path: str,
    target_column: str,
    report_path: str,
    metrics_path: str,
    feature_columns: list[str] | None = None,
    model_target_column: str | None = None,
    max_rows: int = 200,
    model_name: str = "model",
    onnx_metadata: Mapping[str, object] | None = None,
    onnx_min_agreement: float = ONNX_MIN_AGREEMENT,
) -> ServeCheckResult:
    """Serves ``model_dir`` with the KServe model server and checks its answers on the test rows.

    Args:
        model_dir: Model directory holding exactly one model file.
        test_path: Parquet test rows with the feature columns and the target.
        target_column: The label column; it is left out of the requests.
        report_path: Where the Markdown report is written (only when the check passes).
        metrics_path: Where the metrics are written as JSON (only when the check passes).
        feature_columns: The model's input columns in order (the Model's ``feature_columns``
            metadata); by default every test column but the target, in file order.
        model_target_column: The target the model was trained for (its ``target_column``
            metadata); when given it must equal ``target_column``.
        max_rows: How many test rows (the first ones) to send.
        model_name: The model's name in the endpoint paths.
        onnx_metadata: The Model's ``onnx`` metadata; when it describes an export, the export is
            compared with the sklearn model on the same rows.
        onnx_min_agreement: The share of rows (0-1) on which the export's label must equal the
            sklearn model's.

    Raises:
        ComponentInputError: Bad input; the server did not start or refused the model file (the
            message names the URL and the reason, e.g. the refused global); or an answer differs
            from the offline prediction (the message names the protocol and the first such row);
            or the ONNX export disagrees with the sklearn model on too many rows.
    """
    if not 0.0 <= onnx_min_agreement <= 1.0:
        raise ComponentInputError(f"onnx_min_agreement {onnx_min_agreement} is not between 0 and 1")
    if max_rows < 1:
        raise ComponentInputError(f"max_rows {max_rows} is less than 1")
    if model_target_column is not None and model_target_column != target_column:
        raise ComponentInputError(
            f"target_column {target_column!r} differs from the target the model was trained for, "
            f"{model_target_column!r}"
        )
    model_file = find_model_file(model_dir)
    # The server starts first and loads the model while this process reads the test rows and
    # loads the model for the offline predictions (in parallel on more than one core: each
    # imports pandas and scikit-learn). Bad test rows fail at once; otherwise the server's
    # verdict comes first: a file it refuses fails naming its URL and the reason.
    with starting_model_server(model_dir, model_name) as starting:
        test = read_parquet(test_path).to_pandas()
        if test.empty:
            raise ComponentInputError(f"the test dataset {test_path} has no rows")
        features = _feature_frame(test, target_column, feature_columns, test_path).head(max_rows)
        features = features.reset_index(drop=True)
        try:
            model = load_model_file(model_file)
            offline = _offline_predictions(model, features, model_file)
            onnx = compare_onnx(model_dir, model, features, onnx_metadata, onnx_min_agreement)
        except ComponentInputError:
            starting.ready()
            raise
        server = starting.ready()
        timings = check_served_predictions(server, features, offline)
    result = ServeCheckResult(
        endpoint=server.url,
        model_name=model_name,
        model_file=model_file.name,
        rows_checked=len(features),
        feature_columns=[str(name) for name in features.columns],
        timings=timings,
        onnx=onnx,
    )
    markdown = result.to_markdown()
    print(markdown)
    with contextlib.ExitStack() as stack:
        metrics_file = stack.enter_context(atomic_file(metrics_path))
        report_file = stack.enter_context(atomic_file(report_path))
        metrics_file.write_text(json.dumps(result.metrics(), indent=2) + "\n", encoding="utf-8")
        report_file.write_text(markdown, encoding="utf-8")
    return result

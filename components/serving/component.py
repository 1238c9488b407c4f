"""Serving component: prove a Model loads and answers in the real KServe model server."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Input, Markdown, Metrics, Model, Output

from kfp_mlops.components.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def serve_check(
    model: Input[Model],
    test: Input[Dataset],
    target_column: str,
    report: Output[Markdown],
    serving_metrics: Output[Metrics],
    max_rows: int = 200,
    onnx_min_agreement: float = 0.99,
) -> NamedTuple(
    "Outputs",
    [
        ("endpoint", str),
        ("rows_checked", int),
        ("v1_latency_ms_p50", float),
        ("v2_latency_ms_p50", float),
    ],
):
    """Serves the model in the KServe model server on 127.0.0.1 and checks its answers on test rows.

    The model directory is read as the stock KServe sklearn runtime reads it (exactly one
    .joblib/.pkl/.pickle file), unpickled by our restricted unpickler (the stock runtime uses plain
    joblib.load; ours refuses any global that could run code); a PyTorch Model from train_pytorch is
    served as its ONNX export (ONNX Runtime). The test rows, without the target, are sent as V1
    numpy rows, V1 pandas columns and V2 Open Inference Protocol (content_type pd), one row per
    request and then all in one request. The step fails, naming the protocol and the first test row,
    when an answer differs from the model file's offline predictions, and names the URL and the
    reason when the server does not start or refuses the model file. When the Model carries an ONNX
    export, the same rows go through it in ONNX Runtime and its labels must equal the sklearn
    model's on at least onnx_min_agreement of them (the export computes in float32); a regressor's
    export must answer predictions whose R² against the sklearn model's is at least 0.999.

    Args:
        model: A Model directory from train_sklearn (one model.joblib) or train_pytorch; its
            feature_columns and target_column metadata are used when present.
        test: The test rows (Parquet) with the model's feature columns and the target.
        target_column: The label column; it is not sent to the server.
        max_rows: How many test rows (the first ones) to send.
        onnx_min_agreement: Share of the rows (0-1) on which the ONNX export must predict the
            sklearn model's label.

    Returns:
        report: The protocols checked, rows, per-request latencies, the endpoint used and the
            ONNX comparison.
        serving_metrics: rows_checked and, per protocol (v1_rows, v1_pandas, v2), single-row
            latency p50 and p95 and the latency of one request holding every row, in ms; with an
            ONNX export, onnx_label_agreement and onnx_max_probability_difference (a regressor:
            onnx_prediction_r2, onnx_rows_within_rounding, onnx_max_prediction_difference).
        endpoint: Base URL the model was served at during the check (127.0.0.1; it stops with the
            step).
        rows_checked: Number of test rows sent in each protocol.
        v1_latency_ms_p50: Median round trip of a one-row V1 request (numpy rows), in ms.
        v2_latency_ms_p50: Median round trip of a one-row V2 request, in ms.
    """
    from collections import namedtuple

    from kfp_mlops.components.serving.check import run_serve_check

    result = run_serve_check(
        model.path,
        test.path,
        target_column,
        report.path,
        serving_metrics.path,
        feature_columns=model.metadata.get("feature_columns"),
        model_target_column=model.metadata.get("target_column"),
        max_rows=max_rows,
        onnx_metadata=model.metadata.get("onnx"),
        onnx_min_agreement=onnx_min_agreement,
    )
    for name, value in result.metrics().items():
        serving_metrics.log_metric(name, value)
    outputs = namedtuple(
        "Outputs", ["endpoint", "rows_checked", "v1_latency_ms_p50", "v2_latency_ms_p50"]
    )
    return outputs(
        result.endpoint,
        result.rows_checked,
        result.timing("v1-rows").percentile(50),
        result.timing("v2").percentile(50),
    )

"""The regression evaluation's HTML report: metrics, predicted-against-actual and residual plots.

One self-contained HTML document: the KFP UI shows an HTML artifact by setting it as the
``srcdoc`` of an ``<iframe sandbox='allow-scripts'>`` (kubeflow/pipelines,
frontend/src/components/viewers/HTMLViewer.tsx), so nothing is fetched from the network and no
script is used. The plots are matplotlib PNGs embedded as base64 ``data:`` URIs, drawn with the
Agg canvas (no display, no pyplot state). With many test rows the plots show a seeded sample of
:data:`MAX_PLOTTED_POINTS` of them (the report says so); the metrics always cover every row.
"""

import base64
import html
import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kfp_mlops.components.common.regression_metrics import RegressionResult

MAX_PLOTTED_POINTS = 5000
"""The most test rows drawn in each scatter plot."""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; height: auto; }
"""

_DESCRIPTIONS = {
    "rmse": "root mean squared error (lower is better)",
    "mae": "mean absolute error (lower is better)",
    "r2": "coefficient of determination; 0 is the test mean's score (higher is better)",
    "mape": "mean absolute percentage error, a share, over rows whose target is not 0",
    "median_absolute_error": "median absolute error (lower is better)",
    "max_error": "largest absolute error (lower is better)",
}


def plotted_rows(rows: int, seed: int = 0) -> np.ndarray:
    """The row positions drawn: all of them, or a seeded sample of :data:`MAX_PLOTTED_POINTS`."""
    if rows <= MAX_PLOTTED_POINTS:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, MAX_PLOTTED_POINTS, replace=False))


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def predicted_vs_actual_png(actual: np.ndarray, predicted: np.ndarray, target: str) -> str:
    """A scatter of predicted against actual values with the line of perfect predictions."""
    figure = Figure(figsize=(5.5, 5), dpi=100)
    axes = figure.add_subplot()
    axes.scatter(actual, predicted, s=10, alpha=0.6, color="#1f77b4")
    low = float(min(actual.min(), predicted.min()))
    high = float(max(actual.max(), predicted.max()))
    axes.plot([low, high], [low, high], color="#d62728", linewidth=1, label="predicted = actual")
    axes.set_xlabel(f"actual {target}")
    axes.set_ylabel(f"predicted {target}")
    axes.set_title("Predicted against actual (test split)")
    axes.legend(loc="upper left")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return _png(figure)


def residuals_png(actual: np.ndarray, predicted: np.ndarray, target: str) -> str:
    """Residuals (predicted - actual) against the prediction, and their histogram."""
    residual = predicted - actual
    figure = Figure(figsize=(10, 4.5), dpi=100)
    scatter, histogram = figure.subplots(1, 2)
    scatter.scatter(predicted, residual, s=10, alpha=0.6, color="#2ca02c")
    scatter.axhline(0.0, color="#d62728", linewidth=1)
    scatter.set_xlabel(f"predicted {target}")
    scatter.set_ylabel("residual (predicted - actual)")
    scatter.set_title("Residuals against prediction")
    scatter.grid(alpha=0.3)
    histogram.hist(residual, bins=40, color="#9467bd")
    histogram.axvline(0.0, color="#d62728", linewidth=1)
    histogram.set_xlabel("residual (predicted - actual)")
    histogram.set_ylabel("test rows")
    histogram.set_title("Residual distribution")
    figure.tight_layout()
    return _png(figure)


def render_html(result: RegressionResult, target: str, model: str) -> str:
    """The whole report as one HTML document without scripts or external resources."""
    rows = plotted_rows(len(result.actual))
    actual, predicted = result.actual[rows], result.predicted[rows]
    scatter = predicted_vs_actual_png(actual, predicted, target)
    residuals = residuals_png(actual, predicted, target)
    title = f"Regression evaluation of {model}"
    table = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{value:.6g}</td>"
        f"<td>{html.escape(_DESCRIPTIONS[name])}</td></tr>"
        for name, value in result.scalars.items()
    )
    sample = (
        f"All {len(result.actual)} test rows are plotted."
        if len(rows) == len(result.actual)
        else f"A seeded sample of {len(rows)} of the {len(result.actual)} test rows is plotted; "
        "the metrics cover every row."
    )
    excluded = (
        f"<p>MAPE leaves out the {result.mape_excluded_rows} test row(s) whose "
        f"{html.escape(target)} is 0 (it divides by the actual value).</p>"
        if result.mape_excluded_rows
        else ""
    )
    return "".join(
        [
            "<!DOCTYPE html><html><head><meta charset='utf-8'>",
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>",
            f"<p>Target <b>{html.escape(target)}</b>, {len(result.actual)} test rows.</p>",
            "<table><tr><th>metric</th><th>value</th><th>meaning</th></tr>",
            table,
            "</table>",
            excluded,
            f"<p>{sample}</p>",
            f"<img alt='predicted against actual' src='{scatter}'>",
            f"<img alt='residuals' src='{residuals}'>",
            "</body></html>\n",
        ]
    )

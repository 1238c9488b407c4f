"""A model card: one page a reviewer reads before approving a deployment.

It gathers what the pipeline already knows about a registered model version: the data (source,
rows, columns, fingerprints of the train and test parts), the test metrics against the gate's
thresholds and the champion's, the confusion matrix and ROC curve, the gate's decision and its
reasons, and the lineage (pipeline run, MLflow run and version). The page is self-contained HTML
(no script, no external file); it becomes the step's ``HTML`` output, which the KFP UI renders,
and an artifact of the version's MLflow run (``model_card/model_card.html``), whose path the version
records in its tag ``model_card``.

A failure to reach MLflow fails the step before the output is written, so no card claims a version
that MLflow does not hold.
"""

import dataclasses
import html
import math
from collections.abc import Mapping

from kfp_mlops.components.common.atomic import write_text
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.metrics import LOWER_IS_BETTER, SCALAR_METRICS
from kfp_mlops.components.common.mlflow_registry import connect, hide_password
from kfp_mlops.components.registry.card_charts import confusion_matrix_table, roc_curve_svg

CARD_ARTIFACT = "model_card/model_card.html"
"""Where the card lies among the artifacts of the registered version's MLflow run."""
CARD_TAG = "model_card"
"""The model version's tag naming that artifact."""

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1f2328; max-width: 60em; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.4em; }
table { border-collapse: collapse; margin: 0.4em 0; }
td, th { padding: 3px 10px; border: 1px solid #d0d7de; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.approved { background: #dafbe1; } .rejected { background: #ffebe9; }
.verdict { font-size: 1.15em; padding: 8px 12px; border-radius: 6px; display: inline-block; }
.pass { color: #1a7f37; } .fail { color: #b42318; font-weight: 600; }
.charts { display: flex; gap: 2em; flex-wrap: wrap; align-items: flex-start; }
code { background: #f6f8fa; padding: 1px 4px; }
"""


@dataclasses.dataclass(frozen=True)
class CardInputs:
    """What the card shows, as the pipeline's steps recorded it.

    Attributes:
        data_uri: The file the pipeline ingested.
        train: The train split's artifact metadata (rows, schema, fingerprint).
        test: The test split's artifact metadata.
        metrics: The evaluation's Metrics metadata (scalars, averaging, test_rows).
        classification: The evaluation's ClassificationMetrics metadata.
        decision: The gate decision's metadata (approved, reasons, champion_version).
        thresholds: The gate's thresholds.
        registered_model_name: The registered model.
        model_version: Its version this card describes.
        run_id: The MLflow run that logged the version.
        kfp_run_id: The pipeline run (empty when unknown).
    """

    data_uri: str
    train: Mapping[str, object]
    test: Mapping[str, object]
    metrics: Mapping[str, object]
    classification: Mapping[str, object]
    decision: Mapping[str, object]
    thresholds: Mapping[str, float]
    registered_model_name: str
    model_version: str
    run_id: str
    kfp_run_id: str = ""


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else str(value)
    return html.escape("" if value is None else str(value))


def _rows(rows: list[list[str]]) -> str:
    return "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)


def _data_section(inputs: CardInputs) -> str:
    rows = []
    for name, meta in (("train", inputs.train), ("test", inputs.test)):
        schema = meta.get("schema") or []
        rows.append(
            [
                name,
                f'<span class="n">{_number(meta.get("rows"))}</span>',
                str(len(schema)) if schema else "",
                f"<code>{html.escape(str(meta.get('fingerprint', '')))}</code>",
            ]
        )
    return (
        f"<h2>Data</h2><p>Source: <code>{html.escape(inputs.data_uri)}</code></p>"
        "<table><tr><th>part</th><th>rows</th><th>columns</th><th>fingerprint</th></tr>"
        f"{_rows(rows)}</table>"
    )


def _metrics_section(inputs: CardInputs, champion: Mapping[str, float]) -> str:
    version = inputs.decision.get("champion_version") or ""
    header = "<tr><th>metric</th><th>value</th><th>threshold</th><th>result</th>"
    header += f"<th>champion (version {html.escape(str(version))})</th>" if version else ""
    rows = []
    for name in SCALAR_METRICS:
        value = inputs.metrics.get(name)
        if not isinstance(value, int | float):
            continue
        threshold = inputs.thresholds.get(name)
        verdict = ""
        if threshold is not None:
            lower = name in LOWER_IS_BETTER
            passed = value <= threshold if lower else value >= threshold
            sign = "&lt;=" if lower else "&gt;="
            verdict = (
                f'<span class="{"pass" if passed else "fail"}">'
                f"{'passed' if passed else 'failed'} ({sign} {threshold:g})</span>"
            )
        row = [
            html.escape(name),
            f'<span class="n">{_number(float(value))}</span>',
            "" if threshold is None else f"{threshold:g}",
            verdict,
        ]
        if version:
            row.append(_number(champion.get(name)))
        rows.append(row)
    averaging = inputs.metrics.get("averaging")
    note = f"<p>Averaging: {html.escape(str(averaging))}.</p>" if averaging else ""
    return f"<h2>Test metrics</h2>{note}<table>{header}</tr>{_rows(rows)}</table>"


def render_card(inputs: CardInputs, champion: Mapping[str, float], tracking_uri: str) -> str:
    """The card as one HTML document.

    Args:
        inputs: What the pipeline's steps recorded.
        champion: The champion's metrics when the gate compared with one (else empty).
        tracking_uri: The MLflow store (its password is not shown).
    """
    approved = bool(inputs.decision.get("approved"))
    reasons = [str(reason) for reason in inputs.decision.get("reasons") or []]
    title = f"Model card: {inputs.registered_model_name} version {inputs.model_version}"
    roc_auc = inputs.metrics.get("roc_auc")
    lineage = [
        ["pipeline run", html.escape(inputs.kfp_run_id or "(unknown)")],
        [
            "MLflow tracking",
            f"<code>{html.escape(hide_password(tracking_uri, tracking_uri))}</code>",
        ],
        ["MLflow run", f"<code>{html.escape(inputs.run_id)}</code>"],
        [
            "registered version",
            f"<code>models:/{html.escape(inputs.registered_model_name)}/"
            f"{html.escape(inputs.model_version)}</code>",
        ],
        ["this card in MLflow", f"<code>runs:/{html.escape(inputs.run_id)}/{CARD_ARTIFACT}</code>"],
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>",
            f'<p class="verdict {"approved" if approved else "rejected"}">Gate: '
            f"{'APPROVED' if approved else 'REJECTED'}</p>",
            "<ul>",
            *[f"<li>{html.escape(reason)}</li>" for reason in reasons],
            "</ul>",
            _data_section(inputs),
            _metrics_section(inputs, champion),
            '<h2>Confusion matrix and ROC curve</h2><div class="charts">',
            f"<div>{confusion_matrix_table(dict(inputs.classification))}</div>",
            f"<div>{roc_curve_svg(dict(inputs.classification), roc_auc)}</div>",
            "</div>",
            "<h2>Lineage</h2><table>",
            _rows(lineage),
            "</table>",
            "</body></html>",
        ]
    )


def write_model_card(inputs: CardInputs, tracking_uri: str, card_path: str) -> str:
    """Renders the card, stores it with the registered version in MLflow, then writes it locally.

    Args:
        inputs: What the pipeline's steps recorded.
        tracking_uri: The MLflow store holding the version.
        card_path: Where the step's HTML output goes.

    Returns:
        The card's URI in MLflow, ``runs:/<run_id>/model_card/model_card.html``.

    Raises:
        ComponentInputError: The version or the run is not in the store, or the store refuses.
        ExternalSystemError: The store does not answer.
    """
    from mlflow.exceptions import MlflowException

    client = connect(tracking_uri)
    name, version = inputs.registered_model_name, inputs.model_version
    try:
        registered = client.get_model_version(name, version)
        if registered.run_id != inputs.run_id:
            raise ComponentInputError(
                f"model version {name!r} {version} was logged by run {registered.run_id!r}, "
                f"not {inputs.run_id!r}"
            )
        champion: dict[str, float] = {}
        champion_version = str(inputs.decision.get("champion_version") or "")
        if champion_version:
            compared = client.get_model_version(name, champion_version)
            if compared.run_id:
                champion = dict(client.get_run(compared.run_id).data.metrics)
        page = render_card(inputs, champion, tracking_uri)
        client.log_text(inputs.run_id, page, CARD_ARTIFACT)
        client.set_model_version_tag(name, version, CARD_TAG, CARD_ARTIFACT)
    except MlflowException as error:
        raise ComponentInputError(
            hide_password(
                f"cannot store the model card of {name!r} version {version} in {tracking_uri!r}: "
                f"{error.message.splitlines()[0]}",
                tracking_uri,
            )
        ) from error
    write_text(card_path, page)
    return f"runs:/{inputs.run_id}/{CARD_ARTIFACT}"

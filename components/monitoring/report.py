"""The drift report as one self-contained HTML page, which the KFP UI shows for an HTML artifact.

No scripts and no external files: inline CSS, the PSI/KS table, and per feature an inline SVG
histogram of the reference's and the current data's share of each bin, with axes and bin labels
(:mod:`histogram`), so the page renders in the UI's sandboxed frame and opens the same from the
artifact store.
"""

import html

from kfp_mlops.components.monitoring.drift import DRIFT, WARN, DriftResult, FeatureDrift
from kfp_mlops.components.monitoring.histogram import histogram_svg

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1f2328; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; }
td, th { padding: 4px 10px; border-bottom: 1px solid #d0d7de; }
th { text-align: left; background: #f6f8fa; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.drift { color: #b42318; font-weight: 600; } .warn { color: #9a6700; font-weight: 600; }
.ok { color: #1a7f37; } .verdict { font-size: 1.15em; padding: 8px 12px; border-radius: 6px; }
.verdict.drift { background: #ffebe9; } .verdict.ok { background: #dafbe1; }
figure.chart { display: inline-block; margin: 0.5em 1em 0.5em 0; }
code { background: #f6f8fa; padding: 1px 4px; }
"""


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _row(feature: FeatureDrift) -> str:
    ks = feature.ks
    cells = [
        f"<td>{html.escape(feature.name)}</td>",
        f"<td>{feature.kind}</td>",
        f'<td class="n">{feature.psi:.4f}</td>',
        f'<td class="n">{_number(ks.statistic if ks else None)}</td>',
        f'<td class="n">{_number(ks.pvalue if ks else None)}</td>',
        f'<td class="n">{_number(ks.threshold if ks else None)}</td>',
        f'<td class="{feature.status}">{feature.status}</td>',
    ]
    return f"<tr>{''.join(cells)}</tr>"


def render_html(result: DriftResult) -> str:
    """The whole report: verdict, reasons, a table of every feature, skipped columns, method."""
    thresholds = result.thresholds
    drifted = len(result.drifted_features)
    if result.drift_detected:
        verdict = f"Drift detected in {drifted} of {len(result.features)} features"
        verdict_class = DRIFT
    else:
        verdict = f"No drift in {len(result.features)} features"
        verdict_class = "ok"
    warnings = sum(1 for feature in result.features if feature.status == WARN)
    ordered = sorted(
        result.features,
        key=lambda feature: ({DRIFT: 0, WARN: 1}.get(feature.status, 2), -feature.psi),
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Data drift report</title>',
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Data drift report</h1>",
        f'<p class="verdict {verdict_class}">{html.escape(verdict)}'
        f"{f', {warnings} warning(s)' if warnings else ''}.</p>",
        f"<p>Reference: {result.reference_rows:,} rows. Current: {result.current_rows:,} rows.</p>",
        "<h2>Reasons</h2><ul>",
        *[f"<li>{html.escape(reason)}</li>" for reason in result.reasons],
        "</ul>",
        "<h2>Features</h2>",
        "<table><thead><tr><th>feature</th><th>kind</th><th>PSI</th><th>KS statistic</th>"
        "<th>KS p-value</th><th>Holm threshold</th><th>status</th>"
        "</tr></thead><tbody>",
        *[_row(feature) for feature in ordered],
        "</tbody></table>",
        "<h2>Distributions</h2>",
        "<p>Share of rows in each PSI bin, reference against current, drifted features first.</p>",
        *[f'<figure class="chart">{histogram_svg(feature)}</figure>' for feature in ordered],
    ]
    if result.skipped:
        parts += ["<h2>Not compared</h2><ul>"]
        parts += [
            f"<li><code>{html.escape(name)}</code>: {html.escape(why)}</li>"
            for name, why in result.skipped.items()
        ]
        parts.append("</ul>")
    parts += [
        "<h2>Method</h2>",
        f"<p>PSI over {thresholds.bins} quantile bins of the reference (numeric) or its "
        f"{thresholds.max_categories} most frequent values (categorical), missing values in a bin "
        f"of their own; warn at PSI {thresholds.psi_warn}, drift at {thresholds.psi_drift}. "
        f"Two-sample Kolmogorov-Smirnov test of each numeric feature at alpha "
        f"{thresholds.ks_alpha}, corrected with Holm's step-down method over "
        f"{result.ks_tests} tests. A numeric feature drifts when its PSI reaches "
        f"{thresholds.psi_drift} and its KS test rejects; a categorical one when its PSI "
        f"reaches {thresholds.psi_drift}.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"

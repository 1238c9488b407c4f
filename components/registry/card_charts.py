"""The model card's pictures: the confusion matrix as a shaded table, the ROC curve as SVG.

Plain HTML and SVG with axes and labels, no script, so the card renders in the KFP UI's sandboxed
frame, in MLflow's artifact viewer and offline. They read the ``ClassificationMetrics`` metadata
KFP writes (``confusionMatrix`` with ``annotationSpecs`` and ``rows``; ``confidenceMetrics`` with
``falsePositiveRate`` and ``recall``), as evaluate_classifier logs them.
"""

import html

_SIZE = 240
_LEFT = 48
_TOP = 12
_BOTTOM = 40


def confusion_matrix_table(metadata: dict) -> str:
    """The confusion matrix, actual classes as rows and predicted as columns, darker for more."""
    matrix = metadata.get("confusionMatrix") or {}
    names = [spec.get("displayName", "") for spec in matrix.get("annotationSpecs", [])]
    rows = [row.get("row", []) for row in matrix.get("rows", [])]
    if not names or not rows:
        return "<p>No confusion matrix was recorded.</p>"
    top = max((max(row) for row in rows if row), default=0) or 1
    head = "".join(f"<th>{html.escape(str(name))}</th>" for name in names)
    body = []
    for name, row in zip(names, rows, strict=True):
        cells = []
        for count in row:
            shade = 255 - int(180 * count / top)
            colour = "#fff" if shade < 140 else "#1f2328"
            cells.append(
                f'<td class="n" style="background:rgb({shade},{shade},255);color:{colour}">'
                f"{count}</td>"
            )
        body.append(f"<tr><th>{html.escape(str(name))}</th>{''.join(cells)}</tr>")
    return (
        '<table class="confusion"><thead><tr><th>actual \\ predicted</th>'
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def roc_curve_svg(metadata: dict, roc_auc: float | None) -> str:
    """The ROC curve (true against false positive rate) with both axes and the chance diagonal."""
    points = sorted(
        (float(point["falsePositiveRate"]), float(point["recall"]))
        for point in metadata.get("confidenceMetrics") or []
        if "falsePositiveRate" in point and "recall" in point
    )
    if not points:
        return "<p>No ROC curve was recorded (it is drawn for binary problems).</p>"
    width, height = _LEFT + _SIZE + 16, _TOP + _SIZE + _BOTTOM
    base = _TOP + _SIZE

    def x(rate: float) -> float:
        return _LEFT + rate * _SIZE

    def y(rate: float) -> float:
        return base - rate * _SIZE

    line = " ".join(f"{x(fpr):.1f},{y(tpr):.1f}" for fpr, tpr in points)
    auc = "" if roc_auc is None else f" (AUC {roc_auc:.3f})"
    ticks = []
    for tick in (0, 0.25, 0.5, 0.75, 1):
        ticks.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{base}" y2="{base + 4}" '
            f'stroke="#57606a"/><text x="{x(tick):.1f}" y="{base + 16}" '
            f'text-anchor="middle">{tick:g}</text>'
        )
    y_ticks = [
        f'<line x1="{_LEFT - 4}" x2="{_LEFT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
        f'stroke="#57606a"/><text x="{_LEFT - 7}" y="{y(tick) + 3:.1f}" '
        f'text-anchor="end">{tick:g}</text>'
        for tick in (0, 0.25, 0.5, 0.75, 1)
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" class="roc" font-size="10" '
        f'aria-label="ROC curve{html.escape(auc)}">'
        f'<g class="x-axis"><line x1="{_LEFT}" x2="{_LEFT + _SIZE}" y1="{base}" y2="{base}" '
        f'stroke="#57606a"/>{"".join(ticks)}<text x="{_LEFT + _SIZE / 2}" y="{base + 32}" '
        'text-anchor="middle">false positive rate</text></g>'
        f'<g class="y-axis"><line x1="{_LEFT}" x2="{_LEFT}" y1="{_TOP}" y2="{base}" '
        f'stroke="#57606a"/>{"".join(y_ticks)}<text transform="translate(12 {_TOP + _SIZE / 2}) '
        'rotate(-90)" text-anchor="middle">true positive rate</text></g>'
        f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="#8c959f" '
        'stroke-dasharray="4 3"/>'
        f'<polyline class="curve" points="{line}" fill="none" stroke="#0969da" '
        'stroke-width="2"/>'
        f'<text x="{x(0.98):.1f}" y="{y(0.04):.1f}" text-anchor="end" font-size="11">'
        f"ROC{html.escape(auc)}</text></svg>"
    )

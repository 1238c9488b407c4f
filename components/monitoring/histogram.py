"""A feature's histogram, reference against current, as an inline SVG chart with axes.

Each PSI bin gets a pair of bars (the reference's share of rows, then the current data's) over an
x axis that names the bin under it, and a y axis with the share in percent, ticks and grid lines.
Plain SVG, no script: it renders in the KFP UI's sandboxed frame and in any browser.
"""

import html
import math

from kfp_mlops.components.monitoring.drift import FeatureDrift

REFERENCE_COLOUR = "#8c959f"
CURRENT_COLOUR = "#0969da"

_LEFT = 56  # room for the y axis's tick labels and title
_TOP = 44  # room for the chart's title and legend
_PLOT_HEIGHT = 160
_BOTTOM = 96  # room for the bin labels, written at an angle
_BAR = 11
_GAP = 8
_MAX_LABEL = 18


def _nice_top(value: float) -> float:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten at or above ``value`` (a share)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value - 1e-12:
            return min(step * power, 1.0)
    return 1.0


def _short(label: str) -> str:
    return label if len(label) <= _MAX_LABEL else label[: _MAX_LABEL - 1] + "…"


def histogram_svg(feature: FeatureDrift) -> str:
    """The chart of one feature's bin shares, reference then current, as an ``<svg>`` element."""
    bins = len(feature.bin_labels)
    group = 2 * _BAR + _GAP
    plot_width = max(bins * group, 120)
    width = _LEFT + plot_width + 16
    height = _TOP + _PLOT_HEIGHT + _BOTTOM
    top = _nice_top(max([*feature.reference_shares, *feature.current_shares, 0.0]))
    base = _TOP + _PLOT_HEIGHT

    def y(share: float) -> float:
        return base - share / top * _PLOT_HEIGHT

    name = html.escape(feature.name)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" class="histogram" '
        f'aria-label="histogram of {name}, reference against current">',
        f'<text x="{_LEFT}" y="16" font-size="13" font-weight="600">{name} '
        f'<tspan font-weight="400">(PSI {feature.psi:.3f}, {feature.status})</tspan></text>',
    ]
    ticks = ['<g class="y-axis" font-size="10" text-anchor="end">']
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        share = top * fraction
        ticks.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + plot_width}" y1="{y(share):.1f}" '
            f'y2="{y(share):.1f}" stroke="#eaeef2"/>'
            f'<text x="{_LEFT - 6}" y="{y(share) + 3:.1f}">{share * 100:.3g}%</text>'
        )
    ticks.append(
        f'<line x1="{_LEFT}" x2="{_LEFT}" y1="{_TOP}" y2="{base}" stroke="#57606a"/>'
        f'<text transform="translate(12 {_TOP + _PLOT_HEIGHT / 2}) rotate(-90)" '
        f'text-anchor="middle">share of rows</text></g>'
    )
    parts += ticks
    bars = []
    labels = ['<g class="x-axis" font-size="10" text-anchor="end">']
    for index, label in enumerate(feature.bin_labels):
        left = _LEFT + index * group + _GAP / 2
        pair = (
            (feature.reference_shares[index], REFERENCE_COLOUR, "reference"),
            (feature.current_shares[index], CURRENT_COLOUR, "current"),
        )
        for offset, (share, colour, side) in enumerate(pair):
            title = html.escape(f"{label}: {side} {share:.1%}")
            bars.append(
                f'<rect x="{left + offset * _BAR:.1f}" y="{y(share):.2f}" width="{_BAR - 1}" '
                f'height="{base - y(share):.2f}" fill="{colour}"><title>{title}</title></rect>'
            )
        centre = left + _BAR
        labels.append(
            f'<line x1="{centre:.1f}" x2="{centre:.1f}" y1="{base}" y2="{base + 4}" '
            f'stroke="#57606a"/><text transform="translate({centre:.1f} {base + 12}) '
            f'rotate(-40)">{html.escape(_short(label))}</text>'
        )
    labels.append(
        f'<line x1="{_LEFT}" x2="{_LEFT + plot_width}" y1="{base}" y2="{base}" stroke="#57606a"/>'
        "</g>"
    )
    parts += ['<g class="bars">', *bars, "</g>", *labels]
    legend_x = _LEFT
    parts.append(
        f'<g class="legend" font-size="11"><rect x="{legend_x}" y="24" width="10" height="10" '
        f'fill="{REFERENCE_COLOUR}"/><text x="{legend_x + 14}" y="33">reference</text>'
        f'<rect x="{legend_x + 80}" y="24" width="10" height="10" fill="{CURRENT_COLOUR}"/>'
        f'<text x="{legend_x + 94}" y="33">current</text></g>'
    )
    parts.append("</svg>")
    return "".join(parts)

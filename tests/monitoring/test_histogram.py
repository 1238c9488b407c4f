"""A feature's drift histogram: bars for both sides, bin labels written on the x axis, a y axis."""

import xml.etree.ElementTree as ElementTree

from kfp_mlops.components.monitoring.drift import FeatureDrift
from kfp_mlops.components.monitoring.histogram import histogram_svg

SVG = "{http://www.w3.org/2000/svg}"


def feature() -> FeatureDrift:
    return FeatureDrift(
        name="age <years>",
        kind="numeric",
        psi=0.31,
        bin_labels=["< 30", "[30, 45)", ">= 45", "(missing)"],
        reference_shares=[0.3, 0.4, 0.3, 0.0],
        current_shares=[0.1, 0.3, 0.5, 0.1],
        ks=None,
        status="drift",
    )


def test_bin_labels_are_written_under_the_x_axis_not_only_in_tooltips():
    svg = ElementTree.fromstring(histogram_svg(feature()))
    x_axis = svg.find(f"{SVG}g[@class='x-axis']")
    labels = [text.text for text in x_axis.iter(f"{SVG}text")]
    assert labels == ["< 30", "[30, 45)", ">= 45", "(missing)"]


def test_the_y_axis_is_labelled_in_percent_up_to_a_round_top():
    svg = ElementTree.fromstring(histogram_svg(feature()))
    y_axis = svg.find(f"{SVG}g[@class='y-axis']")
    labels = [text.text for text in y_axis.iter(f"{SVG}text")]
    assert labels == ["0%", "12.5%", "25%", "37.5%", "50%", "share of rows"]


def test_bars_are_in_proportion_to_the_shares_for_both_sides():
    svg = ElementTree.fromstring(histogram_svg(feature()))
    bars = list(svg.find(f"{SVG}g[@class='bars']").iter(f"{SVG}rect"))
    heights = [float(bar.get("height")) for bar in bars]
    assert len(bars) == 8  # a reference and a current bar per bin
    # Reference then current per bin, on a 160-pixel plot whose top is 50 %.
    shares = [0.3, 0.1, 0.4, 0.3, 0.3, 0.5, 0.0, 0.1]
    assert heights == [round(share / 0.5 * 160, 2) for share in shares]
    assert "age &lt;years&gt;" in histogram_svg(feature())

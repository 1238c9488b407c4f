"""The HTML drift report: a page the KFP UI can show, saying what drifted and why."""

import html.parser

import pyarrow as pa
from support.monitoring_data import SHIFTED, table

from kfp_mlops.components.monitoring.drift import compare_datasets
from kfp_mlops.components.monitoring.report import render_html


class _Page(html.parser.HTMLParser):
    """Collects tags, checking that every opened element (but void ones) is closed in order."""

    VOID = frozenset({"meta", "br", "img", "input", "link", "hr"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1:]}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    assert parser.open == [], f"unclosed: {parser.open}"
    return parser


def test_drift_report_names_the_drifted_features_first(reference_and_held_out, shifted_held_out):
    reference, _ = reference_and_held_out
    result = compare_datasets(table(reference), table(shifted_held_out), exclude_columns=["target"])
    page = render_html(result)
    parsed = parse(page)
    text = " ".join(parsed.text)

    assert page.startswith("<!DOCTYPE html>")
    assert "script" not in parsed.tags and "link" not in parsed.tags  # self-contained, no JS
    assert "Drift detected in 2 of 30 features" in text
    rows = page.split("<tbody>")[1].split("</tr>")
    assert all(name in "".join(rows[:2]) for name in SHIFTED)
    assert parsed.tags.count("svg") == 30
    assert "Holm" in text


def test_calm_report_and_escaped_names():
    reference = pa.table({"<b>a & b</b>": [1.0, 2.0, 3.0, 4.0], "city": ["x", "y", "x", "y"]})
    result = compare_datasets(reference, reference)
    page = render_html(result)
    text = " ".join(parse(page).text)

    assert "No drift in 2 features" in text
    assert "<b>a & b</b>" in text and "&lt;b&gt;a &amp; b&lt;/b&gt;" in page

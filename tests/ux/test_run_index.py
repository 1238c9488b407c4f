"""index.html of a local run: every step with status and time, a link to every report."""

import re
from pathlib import Path

from kfp_mlops.compile.run_index import report_types, write_index
from kfp_mlops.pipelines import PIPELINES

PIPELINE = PIPELINES["tabular-classification"]


def artifact(path: Path, text: str) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return {"artifacts": [{"name": path.name, "uri": str(path), "metadata": {}}]}


def test_report_types_come_from_the_components_declared_outputs():
    kinds = report_types(PIPELINE)
    assert kinds[("validate-dataset", "report")] == "Markdown"
    assert kinds[("register-model-with-card", "card")] == "HTML"
    assert kinds[("summarize-study", "report")] == "HTML"
    assert ("evaluate-classifier", "metrics") not in kinds  # Metrics are not reports


def test_the_page_lists_steps_and_links_each_report_relatively(tmp_path: Path):
    root = tmp_path / "outputs" / "tabular-classification-1"
    outputs = {
        "validate-dataset": {"artifacts": {"report": artifact(root / "v" / "report", "# ok")}},
        "register-model-with-card": {
            "artifacts": {"card": artifact(root / "m" / "card", "<p>card</p>")}
        },
        "train-sklearn": {"artifacts": {"model": artifact(root / "t" / "model", "x")}},
    }
    summary = {
        "pipeline": "tabular-classification",
        "status": "failed",
        "error": "serve-check: <port> busy",
        "run_dir": str(tmp_path),
        "seconds": 12.34,
        "steps": [
            {"name": "train-sklearn", "status": "succeeded", "seconds": 2.5, "error": None},
            {"name": "serve-check", "status": "failed", "seconds": 1.0, "error": "<port> busy"},
            {
                "name": "deploy-inference-service",
                "status": "skipped",
                "seconds": None,
                "error": None,
            },
        ],
    }

    page = write_index(summary, PIPELINE, outputs).read_text(encoding="utf-8")

    links = re.findall(r'href="([^"]+)"', page)
    assert links == [
        "outputs/tabular-classification-1/v/report",
        "reports/register-model-with-card-card.html",
        "pipeline.log",
    ]
    assert (
        tmp_path / "reports" / "register-model-with-card-card.html"
    ).read_text() == "<p>card</p>"
    assert "<td>train-sklearn</td>" in page and "2.5 s" in page
    assert '<td class="failed">failed</td>' in page and "&lt;port&gt; busy" in page
    assert "<port>" not in page

"""Every HTML report of real local runs, opened in headless Chromium: it renders without console
errors, fetches nothing from the network, every chart is drawn (an SVG with size, shapes and axis
text, or an image with pixels), and its screenshot is not blank. So is the run page, index.html."""

from pathlib import Path

import pytest
from support.browser import Page, chromium_path, share_not_background
from support.cli_runs import run_pipeline

from kfp_mlops.compile.local_run import read_task_outputs
from kfp_mlops.compile.run_index import reports
from kfp_mlops.pipelines import PIPELINES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page():
    assert chromium_path(), "Debian's chromium is missing: see scripts/system-packages.txt"
    opened = Page()
    yield opened
    opened.close()


def html_reports(name: str, run_dir: Path) -> dict[str, Path]:
    """``task/output`` to its copy that the run page links, for each HTML artifact of the run."""
    found = reports(PIPELINES[name], read_task_outputs(run_dir / "outputs"))
    copies = {
        f"{task}/{output}": run_dir / "reports" / f"{task}-{output}.html"
        for task, output, kind, _ in found
        if kind == "HTML"
    }
    for key, copy in copies.items():
        assert copy.is_file(), f"{key} has no HTML copy for the run page"
    return copies


@pytest.fixture(scope="module")
def classification_run(tmp_path_factory, breast_cancer_csv: Path) -> Path:
    """tabular-classification on breast cancer with 4 tuning trials: tuning report, model card."""
    run_dir = tmp_path_factory.mktemp("classification")
    params = [f"data_uri={breast_cancer_csv}", "target_column=target", "n_trials=4"]
    code, summary = run_pipeline("tabular-classification", run_dir, params)
    assert code == 0, summary["error"]
    return run_dir


@pytest.fixture(scope="module")
def drift_run(tmp_path_factory, breast_cancer_frame) -> Path:
    """retrain-on-drift comparing one half of breast cancer with the other (no drift, so no
    retraining: the drift report alone is what this run is for)."""
    folder = tmp_path_factory.mktemp("drift")
    reference = breast_cancer_frame.iloc[::2]
    current = breast_cancer_frame.iloc[1::2]
    reference.to_csv(folder / "reference.csv", index=False)
    current.to_csv(folder / "current.csv", index=False)
    run_dir = folder / "run"
    params = [
        f"reference_uri={folder / 'reference.csv'}",
        f"current_uri={folder / 'current.csv'}",
        "target_column=target",
    ]
    code, summary = run_pipeline("retrain-on-drift", run_dir, params)
    assert code == 0, summary["error"]
    return run_dir


def check_renders(page: Page, path: Path) -> dict:
    """Opens ``path`` and checks what every report must satisfy; returns its charts."""
    page.open(path)
    assert page.console_errors() == [], path
    assert all(url.startswith(("file:", "data:")) for url in page.requested_urls()), path
    charts = page.charts()
    for svg in charts["svgs"]:
        assert svg["width"] > 50 and svg["height"] > 50, (path, svg)
        assert svg["shapes"] > 0 and svg["texts"] >= 2, (path, svg)  # drawn, with axis labels
    for image in charts["images"]:
        assert image["width"] > 0 and image["height"] > 0, path
    assert share_not_background(page.screenshot()) > 0.01, f"{path} looks blank"
    return charts


def test_classification_reports_render(page: Page, classification_run: Path):
    found = html_reports("tabular-classification", classification_run)
    assert {"register-model-with-card/card", "summarize-study/report"} <= set(found), found
    for path in found.values():
        check_renders(page, path)
    card = check_renders(page, found["register-model-with-card/card"])
    assert len(card["svgs"]) == 1  # the ROC curve
    tuning = check_renders(page, found["summarize-study/report"])
    assert len(tuning["svgs"]) == 5  # Optuna's five plots


def test_drift_report_renders_a_histogram_per_feature(page: Page, drift_run: Path):
    found = html_reports("retrain-on-drift", drift_run)
    drift = check_renders(page, found["detect-drift/report"])
    assert len(drift["svgs"]) == 30  # one histogram per feature of breast cancer


def test_the_run_page_links_every_report(page: Page, classification_run: Path):
    charts = check_renders(page, classification_run / "index.html")
    links = charts["links"]
    for copy in html_reports("tabular-classification", classification_run).values():
        assert any(link == f"reports/{copy.name}" for link in links), copy.name
    assert all((classification_run / link).is_file() for link in links), links

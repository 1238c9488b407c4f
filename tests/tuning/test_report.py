"""The summary of a study on breast cancer: better than the defaults, and a report that shows it."""

import re

import pyarrow.parquet as pq
import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.tuning import report
from kfp_mlops.components.tuning.trainers import SklearnTrainer
from kfp_mlops.components.tuning.worker import run_worker

from .conftest import make_study


def tune(folder, splits):
    run_worker(str(folder), str(folder), splits["train"], splits["validation"], "target", 0)


@pytest.mark.slow
def test_twenty_trials_beat_the_defaults_and_the_report_shows_the_history(
    tmp_path, breast_cancer_splits
):
    folder = make_study(tmp_path / "study", n_trials=20, space={}, seed=42)  # default space
    tune(folder, breast_cancer_splits)
    html_path, trials_path = tmp_path / "report.html", tmp_path / "trials.parquet"

    summary = report.summarize(str(folder), str(folder), str(html_path), str(trials_path))

    defaults = SklearnTrainer(
        "random_forest",
        breast_cancer_splits["train"],
        breast_cancer_splits["validation"],
        "target",
        "roc_auc",
    )
    *_, default_score = defaults.fit_steps({}, seed=42)
    assert summary.best_score >= default_score.score
    assert summary.states["complete"] + summary.states["pruned"] == 20
    assert summary.states["pruned"] > 0
    assert set(summary.importances) == {
        "n_estimators",
        "max_depth",
        "min_samples_leaf",
        "max_features",
    }
    assert abs(sum(summary.importances.values()) - 1) < 1e-3

    page = html_path.read_text()
    # Optuna's own plots, each an inline SVG with its axes titled.
    titles = re.findall(r"<h2>([^<]+)</h2>\s*<div class='chart'><svg", page)
    assert titles == [
        "Optimization history",
        "Intermediate values",
        "Hyperparameter importances",
        "Slice",
        "Parallel coordinates",
    ]
    history = page[page.index("<h2>Optimization history</h2>") :]
    history = history[: history.index("</svg>")]
    assert "validation roc_auc" in history and "Trial" in history
    for name in ("n_estimators", "max_depth", "min_samples_leaf", "max_features"):
        assert name in page[page.index("<h2>Slice</h2>") :]
    assert "<script" not in page and "src=" not in page and "<link" not in page
    assert f"trial {summary.best_trial}," in page
    table = pq.read_table(trials_path)
    assert table.num_rows == 20
    assert {"number", "state", "value", "worker", "last_step", "param_max_depth"} <= set(
        table.column_names
    )


def test_a_study_without_a_completed_trial_fails_with_the_first_error(
    tmp_path, breast_cancer_splits
):
    space = {"n_neighbors": {"type": "categorical", "choices": [5000, 6000]}}
    folder = make_study(
        tmp_path / "study", n_trials=2, space=space, estimator="k_nearest_neighbors"
    )
    tune(folder, breast_cancer_splits)
    with pytest.raises(
        ComponentInputError, match=r"no trial .* completed \(0 complete.*2 fail.*n_neighbors"
    ):
        report.summarize(
            str(folder), str(folder), str(tmp_path / "r.html"), str(tmp_path / "t.parquet")
        )
    assert not (tmp_path / "r.html").exists()

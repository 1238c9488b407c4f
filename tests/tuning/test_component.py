"""The tuning components called as KFP calls them, and their best hyperparameters in training."""

import json

import pyarrow.parquet as pq
import pytest
from kfp.dsl import HTML, Artifact, Dataset, Metrics, Model

from kfp_mlops.components import training, tuning
from kfp_mlops.components.common.errors import ComponentInputError

from .conftest import SMALL_FOREST


def as_kfp_carries_it(values: dict) -> dict:
    """JSON numbers travel between KFP steps as doubles: 50 arrives as 50.0."""
    return {
        k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v
        for k, v in values.items()
    }


@pytest.mark.slow
def test_create_run_summarize_then_train_with_the_best(breast_cancer_splits, tmp_path):
    splits = {name: Dataset(uri=path) for name, path in breast_cancer_splits.items()}
    study = Artifact(uri=str(tmp_path / "study"))
    workers = tuning.create_study.python_func(
        study=study,
        estimator="random_forest",
        search_space=SMALL_FOREST,
        hyperparameters={"min_samples_leaf": 2.0},
        metric="accuracy",
        n_trials=9,
        n_workers=2,
        seed=3,
        kfp_run_id="run-123",
    )
    assert workers == [0, 1]
    assert study.metadata["study_name"] == "tune-run-123"
    assert study.metadata["storage"] == "sqlite-artifact"

    for worker in workers:
        result = Metrics(uri=str(tmp_path / f"result-{worker}"))
        tuning.run_trials.python_func(
            study=study,
            train=splits["train"],
            validation=splits["validation"],
            target_column="target",
            worker=worker,
            result=result,
        )
        written = json.loads((tmp_path / f"result-{worker}").read_text())
        assert written == result.metadata
        assert result.metadata["share"] == [5, 4][worker]
        assert result.metadata["trials_run"] == result.metadata["share"]

    report = HTML(uri=str(tmp_path / "report.html"))
    trials = Dataset(uri=str(tmp_path / "trials.parquet"))
    best = tuning.summarize_study.python_func(study=study, report=report, trials=trials)

    assert best.best_hyperparameters["min_samples_leaf"] == 2.0
    assert set(best.best_hyperparameters) == {"min_samples_leaf", *SMALL_FOREST}
    assert pq.read_table(trials.path).num_rows == 9 == trials.metadata["rows"]
    assert report.metadata["best_trial"] == best.best_trial
    assert "<svg" in (tmp_path / "report.html").read_text()

    model = Model(uri=str(tmp_path / "model"))
    training.train_sklearn.python_func(
        train=splits["train"],
        validation=splits["validation"],
        target_column="target",
        model=model,
        estimator="random_forest",
        hyperparameters=as_kfp_carries_it(best.best_hyperparameters),
        seed=3,
    )
    # Training the best trial's configuration reproduces the best trial's score.
    assert model.metadata["validation_accuracy"] == best.best_score


def test_given_hyperparameters_passes_them_on_after_checking():
    given = tuning.given_hyperparameters.python_func(
        estimator="random_forest", hyperparameters={"n_estimators": 30.0}
    )
    assert given == {"n_estimators": 30.0}
    assert tuning.given_hyperparameters.python_func(estimator="random_forest") == {}
    with pytest.raises(ComponentInputError, match="unknown hyperparameter"):
        tuning.given_hyperparameters.python_func(
            estimator="random_forest", hyperparameters={"depth": 3}
        )


def test_create_study_refuses_a_bad_space_naming_the_parameter(tmp_path):
    with pytest.raises(ComponentInputError, match="search space parameter 'max_depth'"):
        tuning.create_study.python_func(
            study=Artifact(uri=str(tmp_path / "study")),
            search_space={"max_depth": {"type": "int", "low": 5, "high": 2}},
        )
    assert not (tmp_path / "study").exists()

"""The train_sklearn component: called directly, compiled, and run by kfp.local."""

import pytest
from kfp import compiler, dsl
from kfp.dsl import Dataset, Model

from kfp_mlops.components import training

from .conftest import task_outputs


def test_train_sklearn_with_validation(breast_cancer_splits, tmp_path):
    model = Model(uri=str(tmp_path / "model"))
    training.train_sklearn.python_func(
        train=Dataset(uri=breast_cancer_splits["train"]),
        target_column="target",
        model=model,
        estimator="random_forest",
        hyperparameters={"n_estimators": 50.0},
        seed=3,
        validation=Dataset(uri=breast_cancer_splits["validation"]),
    )
    assert sorted(path.name for path in (tmp_path / "model").iterdir()) == ["model.joblib", "onnx"]
    assert (tmp_path / "model" / model.metadata["onnx"]["path"]).is_file()
    assert model.metadata["framework"] == "sklearn"
    assert model.metadata["hyperparameters"]["n_estimators"] == 50
    assert model.metadata["hyperparameters"]["random_state"] == 3
    assert model.metadata["validation_accuracy"] >= 0.9
    assert model.metadata["classes"] == [0, 1]


def test_train_sklearn_without_validation(breast_cancer_splits, tmp_path):
    model = Model(uri=str(tmp_path / "model"))
    training.train_sklearn.python_func(
        train=Dataset(uri=breast_cancer_splits["train"]), target_column="target", model=model
    )
    assert model.metadata["estimator"] == "random_forest"
    assert "validation_accuracy" not in model.metadata


def test_compiled_component_declares_validation_optional(tmp_path):
    path = tmp_path / "train_sklearn.yaml"
    compiler.Compiler().compile(training.train_sklearn, str(path))
    spec = training.train_sklearn.component_spec
    assert spec.inputs["validation"].optional
    assert not spec.inputs["train"].optional
    assert spec.inputs["hyperparameters"].optional
    assert "train-sklearn" in path.read_text()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:You may be attemping to run a task:RuntimeWarning")
def test_optional_validation_input_runs_in_kfp_local(local_runner, breast_cancer_splits):
    @dsl.pipeline
    def train_both_ways(train_uri: str, validation_uri: str):
        train = dsl.importer(artifact_uri=train_uri, artifact_class=Dataset)
        validation = dsl.importer(artifact_uri=validation_uri, artifact_class=Dataset)
        training.train_sklearn(
            train=train.output,
            validation=validation.output,
            target_column="target",
            estimator="logistic_regression",
            hyperparameters={"max_iter": 500},
        )
        training.train_sklearn(
            train=train.output, target_column="target", estimator="decision_tree"
        )

    train_both_ways(
        train_uri=breast_cancer_splits["train"], validation_uri=breast_cancer_splits["validation"]
    )
    with_validation = task_outputs(local_runner, "train-sklearn")["artifacts"]["model"]
    without = task_outputs(local_runner, "train-sklearn-2")["artifacts"]["model"]
    metadata = with_validation["artifacts"][0]["metadata"]
    assert metadata["validation_accuracy"] >= 0.9
    # KFP carried max_iter as 500.0, which LogisticRegression refuses: the step turned it into 500.
    assert metadata["hyperparameters"]["max_iter"] == 500
    assert "validation_accuracy" not in without["artifacts"][0]["metadata"]

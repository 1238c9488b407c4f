"""Logging a training to MLflow and registering its model: what a user then finds in MLflow."""

import dataclasses
import shutil
from pathlib import Path

import joblib
import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier

from kfp_mlops.components.common.errors import ComponentInputError, ExternalSystemError
from kfp_mlops.components.common.mlflow_registry import version_with_alias
from kfp_mlops.components.registry.register import (
    dataset_source,
    flatten,
    load_model_directory,
    numeric_metrics,
    pip_requirements,
    register_training,
    skops_trusted_types,
    training_params,
)

NAME = "breast-cancer"


def _register(trained_model, dataset_parts, tracking_uri, **overrides):
    model_dir, metadata, metrics = trained_model
    arguments = {
        "model_dir": str(model_dir),
        "model_metadata": metadata,
        "metrics_metadata": metrics,
        "datasets": dataset_parts,
        "tracking_uri": tracking_uri,
        "registered_model_name": NAME,
        **overrides,
    }
    return register_training(**arguments)


class HomemadeClassifier(ClassifierMixin, BaseEstimator):
    """A class outside the packages a model may reference."""

    def fit(self, features, labels):
        self.classes_ = np.unique(labels)
        return self

    def predict(self, features):
        return np.full(len(features), self.classes_[0])


@pytest.fixture(scope="module")
def registered_twice(
    tmp_path_factory: pytest.TempPathFactory, empty_store: Path, trained_model, dataset_parts
) -> tuple:
    """One store where the same training was registered twice: (tracking URI, first, second)."""
    database = tmp_path_factory.mktemp("registry") / "mlflow.db"
    shutil.copyfile(empty_store, database)
    uri = f"sqlite:///{database}"
    registrations = [
        _register(
            trained_model,
            dataset_parts,
            uri,
            experiment_name="registry-tests",
            kfp_run_id=f"kfp-run-{number}",
            kfp_task_name="register-model",
        )
        for number in (1, 2)
    ]
    return uri, *registrations


@pytest.fixture
def use_store():
    """Points MLflow's fluent API at a store for the test, and back afterwards."""
    yield mlflow.set_tracking_uri
    mlflow.set_tracking_uri(None)


def test_second_registration_is_version_2_and_takes_the_alias(registered_twice):
    uri, first, second = registered_twice
    assert (first.model_version, second.model_version) == ("1", "2")
    assert second.model_uri == f"models:/{NAME}/2"
    client = MlflowClient(uri)
    assert client.get_model_version_by_alias(NAME, "challenger").version in (2, "2")
    assert "challenger" not in client.get_model_version(NAME, "1").aliases
    assert first.run_id != second.run_id


def test_run_holds_params_metrics_and_dataset_fingerprints(
    registered_twice, trained_model, split_metadata
):
    uri, first, _ = registered_twice
    _, _, metrics = trained_model
    run = MlflowClient(uri).get_run(first.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {
        "C": "0.5",
        "max_iter": "500",
        "random_state": "7",
        "estimator": "logistic_regression",
        "seed": "7",
    }
    assert run.data.metrics == pytest.approx(
        {name: value for name, value in metrics.items() if name != "split"}
    )
    for name, metadata in split_metadata.items():
        assert run.data.tags[f"dataset.{name}.fingerprint"] == metadata["fingerprint"]
    assert run.data.tags["kfp.run_id"] == "kfp-run-1"
    assert run.data.tags["kfp.task_name"] == "register-model"
    inputs = {entry.dataset.name: entry for entry in run.inputs.dataset_inputs}
    assert sorted(inputs) == ["test", "train", "validation"]
    for name, metadata in split_metadata.items():
        hex_digest = metadata["fingerprint"].removeprefix("sha256:")
        assert inputs[name].dataset.digest == hex_digest[:32]
        tags = {tag.key: tag.value for tag in inputs[name].tags}
        assert tags["fingerprint"] == metadata["fingerprint"]
        assert tags["rows"] == str(metadata["rows"])
        assert tags["mlflow.data.context"] == name


def test_version_is_tagged_with_fingerprints_and_kfp_run(registered_twice, split_metadata):
    uri, first, _ = registered_twice
    version = MlflowClient(uri).get_model_version(NAME, first.model_version)
    assert version.run_id == first.run_id
    assert version.tags["kfp.run_id"] == "kfp-run-1"
    for name, metadata in split_metadata.items():
        assert version.tags[f"dataset.{name}.fingerprint"] == metadata["fingerprint"]


def test_logged_model_predicts_like_the_joblib_file(
    registered_twice, trained_model, breast_cancer_splits, monkeypatch, use_store
):
    uri, first, _ = registered_twice
    model_dir, metadata, _ = trained_model
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    use_store(uri)
    features = pd.read_parquet(breast_cancer_splits["test"])[metadata["feature_columns"]]
    expected = joblib.load(model_dir / "model.joblib").predict(features)

    from_sklearn = mlflow.sklearn.load_model(first.model_uri)
    from_pyfunc = mlflow.pyfunc.load_model(first.model_uri)

    np.testing.assert_array_equal(from_sklearn.predict(features), expected)
    np.testing.assert_array_equal(np.asarray(from_pyfunc.predict(features)), expected)
    requirements = Path(mlflow.pyfunc.get_model_dependencies(first.model_uri)).read_text().split()
    assert set(pip_requirements()) <= set(requirements)
    assert from_pyfunc.metadata.metadata["train_fingerprint"] == metadata["train_fingerprint"]


def test_alias_helpers_read_and_move_the_alias(registered_twice, trained_model):
    from kfp_mlops.components.common.mlflow_registry import set_alias

    uri, first, second = registered_twice
    _, _, metrics = trained_model
    challenger = version_with_alias(uri, NAME, "challenger")
    assert challenger.version == second.model_version
    assert challenger.run_id == second.run_id
    assert challenger.metrics["roc_auc"] == pytest.approx(metrics["roc_auc"])

    moved = set_alias(uri, NAME, "champion", first.model_version)
    assert moved.aliases == ["champion"]
    assert version_with_alias(uri, NAME, "champion").version == "1"
    set_alias(uri, NAME, "champion", second.model_version)
    assert version_with_alias(uri, NAME, "champion").version == "2"
    assert "champion" not in MlflowClient(uri).get_model_version(NAME, "1").aliases


def test_alias_unset_or_model_unregistered_reads_as_none(registered_twice):
    uri, _, _ = registered_twice
    assert version_with_alias(uri, NAME, "production") is None
    assert version_with_alias(uri, "never-registered", "champion") is None


def test_alias_on_a_missing_version_is_refused(registered_twice):
    from kfp_mlops.components.common.mlflow_registry import set_alias

    uri, _, _ = registered_twice
    with pytest.raises(ComponentInputError, match="has no version '99'"):
        set_alias(uri, NAME, "champion", "99")


def test_train_split_other_than_the_models_is_refused(trained_model, dataset_parts, tracking_uri):
    wrong = dict(dataset_parts)
    wrong["train"] = dataclasses.replace(
        dataset_parts["train"], metadata={**dataset_parts["train"].metadata, "fingerprint": "x"}
    )
    with pytest.raises(ComponentInputError, match="trained on data with fingerprint"):
        _register(trained_model, wrong, tracking_uri)
    assert MlflowClient(tracking_uri).get_experiment_by_name("kfp-mlops") is None


@pytest.mark.parametrize("name", ["team/model", "models:/x", " "])
def test_invalid_registered_model_name_is_refused(trained_model, dataset_parts, name):
    with pytest.raises(ComponentInputError, match="registered_model_name") as raised:
        _register(trained_model, dataset_parts, "sqlite:///unused.db", registered_model_name=name)
    assert "\n" not in str(raised.value)


def test_unreachable_tracking_server_is_named_in_one_line(
    trained_model, dataset_parts, monkeypatch, unused_port
):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    uri = f"http://127.0.0.1:{unused_port}"
    with pytest.raises(ExternalSystemError) as raised:
        _register(trained_model, dataset_parts, uri)
    message = str(raised.value)
    assert message.startswith(f"cannot use MLflow tracking URI '{uri}'")
    assert "\n" not in message


def test_deleted_experiment_is_refused(trained_model, dataset_parts, tracking_uri):
    client = MlflowClient(tracking_uri)
    client.delete_experiment(client.create_experiment("retired"))
    with pytest.raises(ComponentInputError, match="'retired' is deleted"):
        _register(trained_model, dataset_parts, tracking_uri, experiment_name="retired")


def test_model_directory_must_hold_exactly_one_model_file(tmp_path, trained_model):
    model_dir, _, _ = trained_model
    with pytest.raises(ComponentInputError, match="is a file; a Model artifact is a directory"):
        load_model_directory(model_dir / "model.joblib")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ComponentInputError, match="holds no model file"):
        load_model_directory(empty)
    two = tmp_path / "two"
    two.mkdir()
    (two / "model.joblib").write_bytes((model_dir / "model.joblib").read_bytes())
    (two / "old.pkl").write_bytes(b"")
    with pytest.raises(
        ComponentInputError, match=r"holds 2 model files \(model\.joblib, old\.pkl\)"
    ):
        load_model_directory(two)
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    (renamed / "classifier.joblib").write_bytes((model_dir / "model.joblib").read_bytes())
    # One model file under any name, as the KServe sklearn runtime takes it (model_io.model_file).
    assert load_model_directory(renamed).predict is not None


def test_model_file_that_is_not_an_estimator_is_refused(tmp_path):
    joblib.dump({"weights": [1, 2]}, tmp_path / "model.joblib")
    with pytest.raises(ComponentInputError, match="holds a dict, not a scikit-learn estimator"):
        load_model_directory(tmp_path)


def test_tree_models_are_trusted_and_foreign_classes_refused(breast_cancer_frame):
    features = breast_cancer_frame.drop(columns="target")
    labels = breast_cancer_frame["target"]
    forest = RandomForestClassifier(n_estimators=2, random_state=0).fit(features, labels)
    assert "sklearn.tree._tree.Tree" in skops_trusted_types(forest)
    with pytest.raises(ComponentInputError, match="HomemadeClassifier"):
        skops_trusted_types(HomemadeClassifier().fit(features, labels))


def test_requirements_are_pinned_to_installed_versions():
    import sklearn

    assert f"scikit-learn=={sklearn.__version__}" in pip_requirements()
    assert all("==" in requirement for requirement in pip_requirements())


def test_params_flatten_hyperparameters_and_restore_whole_numbers():
    metadata = {
        "estimator": "random_forest",
        "hyperparameters": {"n_estimators": 100.0, "tree": {"max_depth": None}, "ccp_alpha": 0.5},
        "seed": 3.0,
        "feature_columns": ["a"],
    }
    assert training_params(metadata) == {
        "n_estimators": 100,
        "tree.max_depth": None,
        "ccp_alpha": 0.5,
        "estimator": "random_forest",
        "seed": 3,
    }
    with pytest.raises(ComponentInputError, match="lacks estimator, feature_columns"):
        training_params({"hyperparameters": {}})


def test_metrics_keep_numbers_only():
    metadata = {"accuracy": 0.9, "split": "test", "passed": True, "per_class": {"1": {"f1": 0.8}}}
    assert numeric_metrics(metadata) == {"accuracy": 0.9, "per_class.1.f1": 0.8}
    assert flatten({"a": {"b": {"c": 1}}}) == {"a.b.c": 1}


def test_dataset_source_is_the_uri_mlflow_can_read_else_the_local_path(dataset_parts):
    local = dataset_parts["test"]
    on_s3 = dataclasses.replace(local, uri="s3://bucket/run/test")
    on_minio = dataclasses.replace(local, uri="minio://mlpipeline/v2/artifacts/run/test")
    assert dataset_source(on_s3).to_dict() == {"uri": "s3://bucket/run/test"}
    assert dataset_source(on_minio).to_dict() == {"uri": local.path}


def test_a_registry_failure_after_the_version_is_named_in_one_line(
    trained_model, dataset_parts, tracking_uri, monkeypatch
):
    """MLflow fails between register_model and set_alias: the alias-less version is named."""
    from mlflow.exceptions import MlflowException

    from kfp_mlops.components.registry import register

    def unavailable(*args, **kwargs):
        raise MlflowException(
            "API request to http://mlflow:5000/api/2.0/mlflow/registered-models/alias failed "
            "with exception HTTPError('503 Server Error')\nResponse body: unavailable",
            error_code="TEMPORARILY_UNAVAILABLE",
        )

    monkeypatch.setattr(register, "set_alias_with", unavailable)

    with pytest.raises(ExternalSystemError) as raised:
        _register(trained_model, dataset_parts, tracking_uri, alias="challenger")

    message = str(raised.value)
    assert "\n" not in message
    assert "version 1 of 'breast-cancer' is registered but has no 'challenger' alias" in message
    assert "503 Server Error" in message
    client = MlflowClient(tracking_uri)
    (version,) = client.search_model_versions(f"name = '{NAME}'")
    assert (str(version.version), version.aliases) == ("1", [])
    (run,) = client.search_runs([client.get_experiment_by_name("kfp-mlops").experiment_id])
    assert run.info.status == "FAILED"
    assert run.info.run_id == version.run_id

"""The register_model component run through its Python function with KFP artifact objects."""

import pytest
from google.protobuf import json_format, struct_pb2
from kfp import dsl
from mlflow import MlflowClient

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.registry import register_model


def as_kfp_hands_over(metadata: dict) -> dict:
    """Metadata after KFP's round trip through a protobuf Struct: every number becomes a float."""
    struct = struct_pb2.Struct()
    struct.update(metadata)
    return json_format.MessageToDict(struct)


@pytest.fixture
def artifacts(trained_model, breast_cancer_splits, split_metadata) -> dict:
    """The component's artifact inputs, as KFP hands them to the function."""
    model_dir, model_metadata, metrics_metadata = trained_model
    model = dsl.Model(uri=str(model_dir), metadata=as_kfp_hands_over(model_metadata))
    metrics = dsl.Metrics(
        uri=str(model_dir.parent / "metrics"), metadata=as_kfp_hands_over(metrics_metadata)
    )
    splits = {
        name: dsl.Dataset(uri=path, metadata=as_kfp_hands_over(split_metadata[name]))
        for name, path in breast_cancer_splits.items()
    }
    return {"model": model, "metrics": metrics, **splits}


def test_component_registers_and_returns_the_version(artifacts, tracking_uri, split_metadata):
    outputs = register_model.python_func(
        **artifacts,
        tracking_uri=tracking_uri,
        registered_model_name="breast-cancer",
        alias="candidate",
        kfp_run_id="3f9c-run",
        kfp_task_name="register-model",
    )

    run_id, model_version, model_uri = outputs
    assert (model_version, model_uri) == ("1", "models:/breast-cancer/1")
    client = MlflowClient(tracking_uri)
    version = client.get_model_version_by_alias("breast-cancer", "candidate")
    assert (str(version.version), version.run_id) == ("1", run_id)
    assert version.tags["kfp.run_id"] == "3f9c-run"
    assert version.tags["dataset.test.fingerprint"] == split_metadata["test"]["fingerprint"]
    run = client.get_run(run_id)
    assert client.get_experiment(run.info.experiment_id).name == "kfp-mlops"
    assert run.data.metrics["accuracy"] == artifacts["metrics"].metadata["accuracy"]
    assert run.data.params["max_iter"] == "500"
    assert run.data.params["seed"] == "7"


def test_component_names_an_unsupported_tracking_uri_in_one_line(artifacts):
    with pytest.raises(ComponentInputError) as raised:
        register_model.python_func(
            **artifacts, tracking_uri="mlflow.example.com:5000", registered_model_name="m"
        )
    assert str(raised.value).startswith("cannot use MLflow tracking URI 'mlflow.example.com:5000'")
    assert "\n" not in str(raised.value)

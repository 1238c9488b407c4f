"""The registration components run through their Python functions with KFP artifact objects."""

import pytest
from google.protobuf import json_format, struct_pb2
from kfp import dsl
from mlflow import MlflowClient

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.registry import register_model, register_model_with_card
from kfp_mlops.components.registry.promotion import PREVIOUS_CHAMPION_TAG


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

    run_id, model_version, model_uri, champion_version, previous_version = outputs
    assert (model_version, model_uri) == ("1", "models:/breast-cancer/1")
    # A deployment follows by default: the step does not promote.
    assert (champion_version, previous_version) == ("", "")
    client = MlflowClient(tracking_uri)
    assert client.get_registered_model("breast-cancer").aliases == {"candidate": 1}
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


CLASSIFICATION = {
    "confusionMatrix": {
        "annotationSpecs": [{"displayName": "0"}, {"displayName": "1"}],
        "rows": [{"row": [31, 1]}, {"row": [2, 51]}],
    },
    "confidenceMetrics": [
        {"confidenceThreshold": 1.0, "recall": 0.0, "falsePositiveRate": 0.0},
        {"confidenceThreshold": 0.0, "recall": 1.0, "falsePositiveRate": 1.0},
    ],
}


def card_artifacts(artifacts: dict, folder, champion_version: str = "") -> dict:
    """register_model_with_card's inputs: register_model's, the card's, and the card output."""
    decision = {"approved": True, "reasons": ["accuracy passed"]}
    decision["champion_version"] = champion_version
    return {
        **artifacts,
        "classification_metrics": dsl.ClassificationMetrics(
            uri=str(folder / "classification"), metadata=CLASSIFICATION
        ),
        "decision": dsl.Markdown(uri=str(folder / "decision"), metadata=decision),
        "card": dsl.HTML(uri=str(folder / "card")),
    }


def test_registration_with_card_registers_then_stores_the_card(artifacts, tracking_uri, tmp_path):
    inputs = card_artifacts(artifacts, tmp_path)
    run_id, model_version, model_uri, *_ = register_model_with_card.python_func(
        **inputs,
        data_uri="/data/breast_cancer.csv",
        thresholds={"accuracy": 0.9},
        tracking_uri=tracking_uri,
        registered_model_name="breast-cancer",
        kfp_run_id="3f9c-run",
    )

    assert (model_version, model_uri) == ("1", "models:/breast-cancer/1")
    client = MlflowClient(tracking_uri)
    version = client.get_model_version("breast-cancer", "1")
    assert version.run_id == run_id
    assert version.tags["model_card"] == "model_card/model_card.html"
    card = (tmp_path / "card").read_text()
    assert "Model card: breast-cancer version 1" in card and "3f9c-run" in card
    assert client.download_artifacts(run_id, "model_card/model_card.html", str(tmp_path / "d"))


def test_a_card_that_cannot_be_stored_fails_the_step_after_registering(
    artifacts, tracking_uri, tmp_path
):
    # The gate compared with a champion version the registry does not hold.
    inputs = card_artifacts(artifacts, tmp_path, champion_version="7")
    with pytest.raises(ComponentInputError, match="cannot store the model card"):
        register_model_with_card.python_func(
            **inputs,
            data_uri="/data/breast_cancer.csv",
            thresholds={"accuracy": 0.9},
            tracking_uri=tracking_uri,
            registered_model_name="breast-cancer",
        )

    assert not (tmp_path / "card").exists()  # no card claims a version it could not describe
    version = MlflowClient(tracking_uri).get_model_version("breast-cancer", "1")
    assert "model_card" not in version.tags


def register_without_deployment(artifacts: dict, tracking_uri: str, compared: str) -> tuple:
    """register_model as a pipeline with no cluster deployment calls it."""
    return register_model.python_func(
        **artifacts,
        tracking_uri=tracking_uri,
        registered_model_name="breast-cancer",
        deployment_follows=False,
        compared_champion=compared,
    )


def test_without_a_deployment_the_step_promotes_what_it_registered(artifacts, tracking_uri):
    first = register_without_deployment(artifacts, tracking_uri, compared="")
    second = register_without_deployment(artifacts, tracking_uri, compared="1")

    assert first[1:] == ("1", "models:/breast-cancer/1", "1", "")
    assert second[1:] == ("2", "models:/breast-cancer/2", "2", "1")
    client = MlflowClient(tracking_uri)
    aliases = client.get_registered_model("breast-cancer").aliases
    assert aliases == {"champion": 2, "previous": 1, "challenger": 2}
    assert client.get_model_version("breast-cancer", "2").tags[PREVIOUS_CHAMPION_TAG] == "1"


def test_a_champion_changed_since_the_gate_fails_the_step_with_the_version_registered(
    artifacts, tracking_uri
):
    register_without_deployment(artifacts, tracking_uri, compared="")
    # This run's gate saw no champion, but another run promoted version 1 meanwhile.
    with pytest.raises(ComponentInputError, match="another run promoted"):
        register_without_deployment(artifacts, tracking_uri, compared="")

    client = MlflowClient(tracking_uri)
    assert client.get_model_version("breast-cancer", "2").run_id  # registered, not promoted
    assert client.get_registered_model("breast-cancer").aliases["champion"] == 1


def test_registration_with_card_promotes_once_the_card_is_stored(artifacts, tracking_uri, tmp_path):
    outputs = register_model_with_card.python_func(
        **card_artifacts(artifacts, tmp_path),
        data_uri="/data/breast_cancer.csv",
        thresholds={"accuracy": 0.9},
        tracking_uri=tracking_uri,
        registered_model_name="breast-cancer",
        deployment_follows=False,
        compared_champion="",
    )

    assert outputs[1:] == ("1", "models:/breast-cancer/1", "1", "")
    client = MlflowClient(tracking_uri)
    assert client.get_model_version_by_alias("breast-cancer", "champion").tags["model_card"]


def test_a_card_that_cannot_be_stored_promotes_nothing(artifacts, tracking_uri, tmp_path):
    inputs = card_artifacts(artifacts, tmp_path, champion_version="7")
    with pytest.raises(ComponentInputError, match="cannot store the model card"):
        register_model_with_card.python_func(
            **inputs,
            data_uri="/data/breast_cancer.csv",
            thresholds={"accuracy": 0.9},
            tracking_uri=tracking_uri,
            registered_model_name="breast-cancer",
            deployment_follows=False,
            compared_champion="7",
        )

    aliases = MlflowClient(tracking_uri).get_registered_model("breast-cancer").aliases
    assert "champion" not in aliases

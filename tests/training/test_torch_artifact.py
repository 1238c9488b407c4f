"""A PyTorch Model artifact read back: its ONNX predictor, and evaluation through model_io."""

import json

import numpy as np
import pandas as pd
import pytest
from support.torch_training import train_small_mlp

from kfp_mlops.components.common import torch_artifact
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.model_io import load_classifier
from kfp_mlops.components.evaluation.evaluate import evaluate_model


@pytest.fixture(scope="module")
def torch_model(breast_cancer_splits, tmp_path_factory):
    folder = tmp_path_factory.mktemp("torch") / "model"
    return folder, train_small_mlp(breast_cancer_splits, folder)


def test_load_classifier_dispatches_on_the_manifest(torch_model, breast_cancer_splits):
    folder, metadata = torch_model
    classifier = load_classifier(folder)
    assert isinstance(classifier, torch_artifact.TorchOnnxClassifier)
    assert classifier.classes_.tolist() == [0, 1]
    assert list(classifier.feature_names_in_) == metadata["feature_columns"]


def test_predicts_from_a_frame_by_name_or_from_rows_by_position(torch_model, breast_cancer_splits):
    folder, metadata = torch_model
    classifier = load_classifier(folder)
    test = pd.read_parquet(breast_cancer_splits["test"])
    columns = metadata["feature_columns"]
    shuffled = test[list(reversed(columns))]
    by_name = classifier.predict_proba(shuffled)
    by_position = classifier.predict_proba(test[columns].to_numpy().tolist())
    np.testing.assert_allclose(by_name, by_position, rtol=1e-6)
    rows = test[columns].head(2).to_numpy().astype(object)
    rows[0, 0] = None  # a JSON null
    assert np.isfinite(classifier.predict_proba(rows)).all()
    assert set(classifier.predict(test[columns]).tolist()) <= {0, 1}


@pytest.mark.parametrize(
    ("instances", "message"),
    [
        (np.zeros((2, 3)), r"shape \[2, 3\]; the model takes \[rows, 30\]"),
        ([["a"] * 30], "not numeric rows of 30 features"),
        (pd.DataFrame({"x": [1.0]}), "lacks feature column"),
    ],
)
def test_wrong_input_is_named(torch_model, instances, message):
    with pytest.raises(ComponentInputError, match=message):
        load_classifier(torch_model[0]).predict(instances)


def test_evaluation_scores_a_pytorch_model(torch_model, breast_cancer_splits):
    folder = torch_model[0]
    evaluation = evaluate_model(str(folder), breast_cancer_splits["test"], "target")
    assert evaluation.result.scalars["accuracy"] >= 0.9
    assert evaluation.result.scalars["roc_auc"] >= 0.95
    assert evaluation.result.classes == [0, 1]


def test_a_damaged_artifact_is_named(torch_model, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / torch_artifact.MANIFEST_FILE).write_text(json.dumps({"format": "other"}))
    with pytest.raises(ComponentInputError, match="has format 'other'"):
        load_classifier(folder)
    manifest = json.loads((torch_model[0] / torch_artifact.MANIFEST_FILE).read_text())
    (folder / torch_artifact.MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ComponentInputError, match=r"lacks its ONNX export model/1/model\.onnx"):
        load_classifier(folder)
    (folder / "model" / "1").mkdir(parents=True)
    (folder / torch_artifact.ONNX_FILE).write_bytes(b"not onnx")
    with pytest.raises(ComponentInputError, match="cannot load ONNX model"):
        load_classifier(folder)


def test_torch_model_dir_of_recognizes_only_the_onnx_export(torch_model):
    folder = torch_model[0]
    assert torch_artifact.torch_model_dir_of(folder / torch_artifact.ONNX_FILE) == folder
    assert torch_artifact.torch_model_dir_of(folder / torch_artifact.TORCHSCRIPT_FILE) is None
    assert torch_artifact.torch_model_dir_of("model.onnx") is None

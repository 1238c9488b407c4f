"""The PyTorch architectures: hyperparameters checked and defaulted, networks taking flat rows."""

import re

import pytest
import torch

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.training.torch_models import (
    ARCHITECTURES,
    ClassifierModule,
    ProbabilityModule,
    build_classifier,
    resolve_hyperparameters,
)


def test_defaults_fill_every_hyperparameter():
    assert resolve_hyperparameters("mlp", None, 30) == {"hidden_sizes": [128, 64], "dropout": 0.1}
    assert resolve_hyperparameters("cnn", {}, 64) == {
        "image_shape": [1, 8, 8],
        "channels": [16, 32],
        "hidden_size": 64,
        "dropout": 0.25,
    }


def test_whole_floats_from_kfp_become_ints():
    resolved = resolve_hyperparameters("mlp", {"hidden_sizes": [32.0, 8.0], "dropout": 0}, 5)
    assert resolved == {"hidden_sizes": [32, 8], "dropout": 0.0}
    assert all(type(size) is int for size in resolved["hidden_sizes"])


@pytest.mark.parametrize(
    ("architecture", "hyperparameters", "message"),
    [
        ("rnn", {}, "unknown architecture 'rnn'; known architectures: mlp, cnn"),
        ("mlp", {"hiden_sizes": [4]}, "'hiden_sizes' (did you mean 'hidden_sizes'?)"),
        ("mlp", {"hidden_sizes": [4.5]}, "a non-empty list of positive ints"),
        ("mlp", {"hidden_sizes": []}, "a non-empty list of positive ints"),
        ("mlp", {"dropout": 1.0}, "'dropout' of mlp is 1.0; it must be a number in [0, 1)"),
        ("mlp", {"dropout": True}, "a number in [0, 1)"),
        ("cnn", {"image_shape": [8, 8]}, "[channels, height, width]"),
    ],
)
def test_bad_hyperparameters_are_named(architecture, hyperparameters, message):
    with pytest.raises(ComponentInputError, match=re.escape(message)):
        resolve_hyperparameters(architecture, hyperparameters, 64)


def test_cnn_needs_an_image_shape_when_features_are_not_a_square():
    with pytest.raises(ComponentInputError, match="cnn needs hyperparameter image_shape"):
        resolve_hyperparameters("cnn", {}, 30)


@pytest.mark.parametrize(
    ("shape", "message"),
    [([1, 4, 4], "holds 16 values but the data has 64"), ([1, 1, 64], "must be even")],
)
def test_cnn_shape_must_match_the_features(shape, message):
    params = resolve_hyperparameters("cnn", {"image_shape": shape}, 64)
    with pytest.raises(ComponentInputError, match=message):
        build_classifier("cnn", params, 64, 10)


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_networks_take_flat_rows_and_answer_one_logit_per_class(architecture):
    params = resolve_hyperparameters(architecture, {}, 64)
    classifier = build_classifier(architecture, params, 64, 10).eval()
    with torch.no_grad():
        logits = classifier(torch.randn(5, 64))
        probabilities = ProbabilityModule(classifier)(torch.randn(3, 64))
    assert logits.shape == (5, 10)
    assert torch.allclose(probabilities.sum(dim=1), torch.ones(3))


def test_statistics_fill_missing_values_with_the_train_median_and_standardize():
    classifier = ClassifierModule(torch.nn.Identity(), 2)
    train = torch.tensor([[1.0, 10.0], [2.0, float("nan")], [6.0, 30.0], [float("nan"), 20.0]])
    classifier.set_statistics(train)
    assert classifier.fill.tolist() == [2.0, 20.0]
    standardized = classifier(torch.tensor([[float("nan"), float("nan")]]))
    expected = (classifier.fill - classifier.mean) / classifier.scale
    assert torch.allclose(standardized, expected.unsqueeze(0))
    filled = torch.tensor([[1.0, 10.0], [2.0, 20.0], [6.0, 30.0], [2.0, 20.0]])
    assert torch.allclose(classifier.mean, filled.mean(dim=0))


def test_a_constant_or_empty_column_does_not_divide_by_zero():
    classifier = ClassifierModule(torch.nn.Identity(), 2)
    classifier.set_statistics(torch.tensor([[3.0, float("nan")], [3.0, float("nan")]]))
    assert classifier.scale.tolist() == [1.0, 1.0]
    assert classifier.fill.tolist() == [3.0, 0.0]
    assert torch.isfinite(classifier(torch.tensor([[3.0, float("nan")]]))).all()

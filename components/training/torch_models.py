"""The PyTorch networks a training step can train, chosen by name, and the module that wraps them.

Architectures (the ``architecture`` input of ``train_pytorch``):

- ``mlp``: a multilayer perceptron for tabular rows; each hidden layer is Linear, ReLU, Dropout.
  Hyperparameters: ``hidden_sizes`` (list of ints, default ``[128, 64]``), ``dropout`` (``0.1``).
- ``cnn``: a small convolutional network for images stored one pixel per column, row-major and
  channels first (scikit-learn's 8x8 digits: 64 columns ``pixel_0_0`` ... ``pixel_7_7``): two 3x3
  convolutions with ReLU, 2x2 max pooling, dropout, one hidden dense layer and the output layer.
  Hyperparameters: ``image_shape`` (``[channels, height, width]``; by default ``[1, s, s]`` when
  the feature count is a square ``s * s``), ``channels`` (``[16, 32]``), ``hidden_size`` (``64``),
  ``dropout`` (``0.25``). Height and width must be even (one pooling halves them).

Every network is wrapped in :class:`ClassifierModule`, which fills missing values with the train
split's medians and standardizes with its means and standard deviations before the network. Those
statistics are buffers of the module, so the state dict and the TorchScript and ONNX exports carry
them: a served model takes raw feature values. :class:`ProbabilityModule` adds the softmax that
the exports answer with.

A regressor (``task`` regression) is the same network with one output, wrapped in
:class:`RegressorModule`: it is trained on the target standardized with the train split's mean and
standard deviation (so that the MSE loss and the learning rate do not depend on the target's
units), which are buffers too; :class:`PredictionModule` maps the output back to the target's
units, and is what the exports answer with.

Hyperparameters arrive from a pipeline as JSON, where KFP carries numbers as doubles
(``[128, 64]`` arrives as ``[128.0, 64.0]``): a whole float is accepted where an int is expected.
"""

import dataclasses
import difflib
import math
from collections.abc import Callable

import torch
from torch import nn

from kfp_mlops.components.common.errors import ComponentInputError


@dataclasses.dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter of an architecture: its default, what it must be, and how to check it."""

    default: object
    rule: str
    convert: Callable[[object], object | None]
    """Returns the value in its proper type, or None when the value breaks ``rule``."""


def _as_int(value: object, minimum: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value) if value >= minimum else None


def _positive_int(value: object) -> int | None:
    return _as_int(value, 1)


def _dropout(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0.0 <= value < 1.0 else None


def _positive_ints(value: object) -> list[int] | None:
    if not isinstance(value, list | tuple) or not value:
        return None
    converted = [_positive_int(item) for item in value]
    return None if None in converted else converted


def _image_shape(value: object) -> list[int] | None:
    if value is None:
        return None
    shape = _positive_ints(value)
    if shape is None or len(shape) != 3:
        return None
    return shape


@dataclasses.dataclass(frozen=True)
class Architecture:
    """One selectable network: what it is for, its hyperparameters, and how to build it."""

    description: str
    hyperparameters: dict[str, Hyperparameter]
    build: Callable[[dict[str, object], int, int], nn.Module]
    """``build(resolved_hyperparameters, n_features, n_classes)``."""


def _build_mlp(params: dict[str, object], n_features: int, n_classes: int) -> nn.Module:
    layers: list[nn.Module] = []
    width = n_features
    for size in params["hidden_sizes"]:
        layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(params["dropout"])]
        width = size
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)


class SmallCNN(nn.Module):
    """Two 3x3 convolutions, 2x2 max pooling, a hidden dense layer; input rows are flat images."""

    def __init__(
        self,
        image_shape: list[int],
        channels: list[int],
        hidden_size: int,
        dropout: float,
        n_classes: int,
    ) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        in_channels, height, width = image_shape
        first, second = channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, first, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(first, second, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout(dropout),
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(second * (height // 2) * (width // 2), hidden_size),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_size, n_classes),
        )

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        """Logits for ``rows`` of shape ``[batch, channels * height * width]``."""
        return self.head(self.features(rows.reshape(-1, *self.image_shape)))


def _build_cnn(params: dict[str, object], n_features: int, n_classes: int) -> nn.Module:
    shape = params["image_shape"]
    if math.prod(shape) != n_features:
        raise ComponentInputError(
            f"cnn image_shape {shape} holds {math.prod(shape)} values but the data has "
            f"{n_features} feature columns; give image_shape as [channels, height, width]"
        )
    if shape[1] % 2 or shape[2] % 2:
        raise ComponentInputError(
            f"cnn image_shape {shape}: height and width must be even (one 2x2 pooling halves them)"
        )
    if len(params["channels"]) != 2:
        raise ComponentInputError(
            f"cnn channels {params['channels']} must list two sizes, one per convolution"
        )
    return SmallCNN(shape, params["channels"], params["hidden_size"], params["dropout"], n_classes)


ARCHITECTURES: dict[str, Architecture] = {
    "mlp": Architecture(
        "Multilayer perceptron for tabular rows (Linear, ReLU, Dropout per hidden layer).",
        {
            "hidden_sizes": Hyperparameter(
                [128, 64], "a non-empty list of positive ints", _positive_ints
            ),
            "dropout": Hyperparameter(0.1, "a number in [0, 1)", _dropout),
        },
        _build_mlp,
    ),
    "cnn": Architecture(
        "Small CNN for images stored one pixel per column (e.g. 8x8 digits).",
        {
            "image_shape": Hyperparameter(
                None, "[channels, height, width], three positive ints", _image_shape
            ),
            "channels": Hyperparameter([16, 32], "two positive ints", _positive_ints),
            "hidden_size": Hyperparameter(64, "a positive int", _positive_int),
            "dropout": Hyperparameter(0.25, "a number in [0, 1)", _dropout),
        },
        _build_cnn,
    ),
}


def architecture_spec(name: str) -> Architecture:
    """The architecture called ``name``.

    Raises:
        ComponentInputError: Unknown name; the message lists the known ones.
    """
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ComponentInputError(
            f"unknown architecture {name!r}; known architectures: {', '.join(ARCHITECTURES)}"
        ) from None


def resolve_hyperparameters(
    name: str, hyperparameters: dict[str, object] | None, n_features: int
) -> dict[str, object]:
    """Every hyperparameter of architecture ``name``: the given ones checked, the rest defaulted.

    A cnn without ``image_shape`` gets ``[1, s, s]`` when ``n_features`` is ``s * s``.

    Raises:
        ComponentInputError: Unknown architecture, unknown hyperparameter (close matches
            suggested), or a value that breaks its rule.
    """
    spec = architecture_spec(name)
    given = dict(hyperparameters or {})
    unknown = [key for key in given if key not in spec.hyperparameters]
    if unknown:
        known = list(spec.hyperparameters)
        problems = "; ".join(
            f"{key!r}"
            + "".join(f" (did you mean {m!r}?)" for m in difflib.get_close_matches(key, known, 1))
            for key in unknown
        )
        raise ComponentInputError(
            f"unknown hyperparameter(s) for {name}: {problems}; valid: {', '.join(known)}"
        )
    resolved: dict[str, object] = {}
    for key, rule in spec.hyperparameters.items():
        if key not in given:
            resolved[key] = rule.default
            continue
        value = rule.convert(given[key])
        if value is None:
            raise ComponentInputError(
                f"hyperparameter {key!r} of {name} is {given[key]!r}; it must be {rule.rule}"
            )
        resolved[key] = value
    if name == "cnn" and resolved["image_shape"] is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ComponentInputError(
                f"cnn needs hyperparameter image_shape ([channels, height, width]): the "
                f"{n_features} feature columns are not a square single-channel image"
            )
        resolved["image_shape"] = [1, side, side]
    return resolved


class ClassifierModule(nn.Module):
    """Missing-value fill and standardization with train-split statistics, then the network.

    ``forward`` returns logits. The statistics are buffers (``fill``, ``mean``, ``scale``), so they
    are part of the state dict and of every export.
    """

    def __init__(self, network: nn.Module, n_features: int) -> None:
        super().__init__()
        self.network = network
        self.register_buffer("fill", torch.zeros(n_features))
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))

    def set_statistics(self, features: torch.Tensor) -> None:
        """Sets fill (median), mean and scale (standard deviation, 1 where it is 0) per column.

        Columns are taken as they are in ``features`` (the train split), NaN meaning missing; a
        column with no values at all gets fill 0.
        """
        fill = torch.nan_to_num(torch.nanmedian(features, dim=0).values, nan=0.0)
        filled = torch.where(torch.isnan(features), fill, features)
        mean = filled.mean(dim=0)
        scale = filled.std(dim=0, unbiased=False)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        self.fill.copy_(fill)
        self.mean.copy_(mean)
        self.scale.copy_(scale)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits for raw feature rows (``[batch, n_features]`` float32, NaN for missing)."""
        filled = torch.where(torch.isnan(features), self.fill, features)
        return self.network((filled - self.mean) / self.scale)


class ProbabilityModule(nn.Module):
    """A classifier answering class probabilities (softmax of its logits): what is exported."""

    def __init__(self, classifier: ClassifierModule) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Probabilities ``[batch, n_classes]``, one column per class in the model's order."""
        return torch.softmax(self.classifier(features), dim=1)


def build_classifier(
    architecture: str, hyperparameters: dict[str, object], n_features: int, n_classes: int
) -> ClassifierModule:
    """A freshly initialized classifier of ``architecture`` with resolved ``hyperparameters``."""
    network = architecture_spec(architecture).build(hyperparameters, n_features, n_classes)
    return ClassifierModule(network, n_features)


class RegressorModule(ClassifierModule):
    """A :class:`ClassifierModule` with one output: the target in standardized units.

    The target's train-split mean and standard deviation are buffers (``target_mean``,
    ``target_scale``), so the state dict carries them.
    """

    def __init__(self, network: nn.Module, n_features: int) -> None:
        super().__init__(network, n_features)
        self.register_buffer("target_mean", torch.zeros(()))
        self.register_buffer("target_scale", torch.ones(()))

    def set_target_statistics(self, target: torch.Tensor) -> None:
        """Sets the target's mean and standard deviation (1 when the target is constant)."""
        values = target.to(torch.float64)
        scale = float(values.std(unbiased=False))
        self.target_mean.fill_(float(values.mean()))
        self.target_scale.fill_(scale if scale > 0 else 1.0)

    def standardize(self, target: torch.Tensor) -> torch.Tensor:
        """``target`` in the units the network's output is trained in."""
        return (target - self.target_mean) / self.target_scale


class PredictionModule(nn.Module):
    """A regressor answering the predicted numbers in the target's units: what is exported."""

    def __init__(self, regressor: RegressorModule) -> None:
        super().__init__()
        self.regressor = regressor

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Predictions ``[batch, 1]``."""
        return self.regressor(features) * self.regressor.target_scale + self.regressor.target_mean


def build_regressor(
    architecture: str, hyperparameters: dict[str, object], n_features: int
) -> RegressorModule:
    """A freshly initialized regressor (one output) of ``architecture``."""
    network = architecture_spec(architecture).build(hyperparameters, n_features, 1)
    return RegressorModule(network, n_features)


def served_module(module: ClassifierModule) -> nn.Module:
    """What the exports of ``module`` answer: probabilities, or a regressor's predictions."""
    if isinstance(module, RegressorModule):
        return PredictionModule(module)
    return ProbabilityModule(module)

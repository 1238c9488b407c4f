"""A search space given as a plain dict, checked before any trial runs, and sampled by Optuna.

A pipeline passes the space as a JSON object, one entry per hyperparameter::

    {
        "n_estimators": {"type": "int", "low": 50, "high": 400, "log": true},
        "max_depth": {"type": "int", "low": 2, "high": 32, "step": 2},
        "learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": true},
        "max_features": {"type": "categorical", "choices": ["sqrt", "log2", 0.5]}
    }

- ``int`` and ``float`` take ``low`` and ``high`` (both included), and optionally ``log`` (sample on
  a log scale; needs ``low > 0``) or ``step`` (sample on a grid from ``low``; not with ``log``).
- ``categorical`` takes ``choices``: a non-empty list of distinct strings, numbers, booleans or
  null.

KFP carries JSON numbers as doubles, so ``50`` arrives as ``50.0``: a whole float is accepted where
an int is expected, any other float is refused. Every problem is reported with the parameter's name.
"""

import dataclasses
import difflib
import math
from collections.abc import Mapping
from typing import Literal

import optuna

from kfp_mlops.components.common.errors import ComponentInputError

Choice = None | bool | int | float | str
"""A value a categorical parameter may take (what Optuna stores and JSON carries)."""

_KEYS = {
    "int": {"type", "low", "high", "log", "step"},
    "float": {"type", "low", "high", "log", "step"},
    "categorical": {"type", "choices"},
}


@dataclasses.dataclass(frozen=True)
class NumberRange:
    """An int or float parameter sampled between ``low`` and ``high`` (both included)."""

    kind: Literal["int", "float"]
    low: float
    high: float
    log: bool = False
    step: float | None = None

    def bounds(self) -> list[float]:
        """The two ends, the values an estimator must accept for the range to be valid."""
        return [self.low, self.high]

    def as_dict(self) -> dict[str, object]:
        """The JSON form this range was parsed from, with defaults filled in."""
        found: dict[str, object] = {
            "type": self.kind,
            "low": self.low,
            "high": self.high,
            "log": self.log,
        }
        if self.step is not None:
            found["step"] = self.step
        return found


@dataclasses.dataclass(frozen=True)
class Categorical:
    """A parameter taking one of ``choices``."""

    choices: tuple[Choice, ...]

    def bounds(self) -> list[Choice]:
        """Every choice, each of which an estimator must accept."""
        return list(self.choices)

    def as_dict(self) -> dict[str, object]:
        """The JSON form this parameter was parsed from."""
        return {"type": "categorical", "choices": list(self.choices)}


Parameter = NumberRange | Categorical
SearchSpace = dict[str, Parameter]
"""Hyperparameter name to how it is sampled, in name order."""


def _fail(name: str, problem: str) -> ComponentInputError:
    return ComponentInputError(f"search space parameter {name!r}: {problem}")


def _number(name: str, key: str, value: object, kind: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(name, f"{key} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise _fail(name, f"{key} must be finite, got {value!r}")
    if kind == "int":
        if not float(value).is_integer():
            raise _fail(name, f"{key} {value!r} is not a whole number (type is int)")
        return int(value)
    return float(value)


def _parse_range(
    name: str, spec: Mapping[str, object], kind: Literal["int", "float"]
) -> NumberRange:
    for key in ("low", "high"):
        if key not in spec:
            raise _fail(name, f"an {kind} range needs '{key}'")
    low = _number(name, "low", spec["low"], kind)
    high = _number(name, "high", spec["high"], kind)
    if low >= high:
        raise _fail(
            name,
            f"low {low!r} must be below high {high!r} (a fixed value belongs in hyperparameters)",
        )
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise _fail(name, f"log must be true or false, got {log!r}")
    if log and low <= 0:
        raise _fail(name, f"a log scale needs low > 0, got {low!r}")
    step = spec.get("step")
    if step is not None:
        step = _number(name, "step", step, kind)
        if step <= 0:
            raise _fail(name, f"step must be positive, got {step!r}")
        if log:
            raise _fail(name, "step and log cannot be combined")
    return NumberRange(kind, low, high, log, step)


def _parse_categorical(name: str, spec: Mapping[str, object]) -> Categorical:
    choices = spec.get("choices")
    if not isinstance(choices, list | tuple) or not choices:
        raise _fail(name, f"choices must be a non-empty list, got {choices!r}")
    for choice in choices:
        if choice is not None and not isinstance(choice, bool | int | float | str):
            raise _fail(name, f"choice {choice!r} is not a string, number, boolean or null")
    # 1 and 1.0 (or True) are one JSON value after KFP's conversion; compare by type and value.
    keys = [(type(choice).__name__, choice) for choice in choices]
    if len(set(keys)) != len(keys):
        raise _fail(name, f"choices repeat a value: {list(choices)!r}")
    return Categorical(tuple(choices))


def _suggestion(word: str, choices: list[str]) -> str:
    matches = difflib.get_close_matches(word, choices, n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(m) for m in matches)}?)" if matches else ""


def parse_search_space(raw: Mapping[str, object] | None) -> SearchSpace:
    """Parses and checks a search space dict (see the module docstring for its form).

    Raises:
        ComponentInputError: The space is empty or not a dict, or an entry has an unknown type or
            key, a missing or non-numeric bound, ``low >= high``, a log scale with ``low <= 0``,
            a bad step, or empty or repeated choices. The message names the parameter.
    """
    if not isinstance(raw, Mapping) or not raw:
        raise ComponentInputError(
            "the search space is empty: give at least one parameter, e.g. "
            '{"max_depth": {"type": "int", "low": 2, "high": 16}}'
        )
    space: SearchSpace = {}
    for name in sorted(raw):
        spec = raw[name]
        if not isinstance(spec, Mapping):
            raise _fail(name, f"expected an object with a 'type', got {spec!r}")
        kind = spec.get("type")
        if kind not in _KEYS:
            raise _fail(
                name,
                f"unknown type {kind!r}{_suggestion(str(kind), list(_KEYS))}; "
                "use int, float or categorical",
            )
        unknown = sorted(set(spec) - _KEYS[kind])
        if unknown:
            allowed = sorted(_KEYS[kind])
            unused = sorted(_KEYS[kind] - set(spec))
            problems = "; ".join(f"{key!r}{_suggestion(key, unused)}" for key in unknown)
            raise _fail(name, f"unknown key(s) for type {kind}: {problems}; allowed: {allowed}")
        space[name] = (
            _parse_categorical(name, spec)
            if kind == "categorical"
            else _parse_range(name, spec, kind)
        )
    return space


def as_dict(space: SearchSpace) -> dict[str, dict[str, object]]:
    """The space in its JSON form, as stored with a study."""
    return {name: parameter.as_dict() for name, parameter in space.items()}


def suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, object]:
    """Samples one value of every parameter of ``space`` for ``trial``."""
    values: dict[str, object] = {}
    for name, parameter in space.items():
        if isinstance(parameter, Categorical):
            values[name] = trial.suggest_categorical(name, list(parameter.choices))
        elif parameter.kind == "int":
            values[name] = trial.suggest_int(
                name,
                int(parameter.low),
                int(parameter.high),
                step=int(parameter.step or 1),
                log=parameter.log,
            )
        else:
            values[name] = trial.suggest_float(
                name, parameter.low, parameter.high, step=parameter.step, log=parameter.log
            )
    return values


def grid(space: SearchSpace) -> dict[str, list[Choice]]:
    """Every value of every parameter, for grid search: each must be categorical or stepped.

    Raises:
        ComponentInputError: A parameter is a range without a step (it has no finite grid).
    """
    values: dict[str, list[Choice]] = {}
    for name, parameter in space.items():
        if isinstance(parameter, Categorical):
            values[name] = list(parameter.choices)
        elif parameter.step is None:
            raise _fail(
                name,
                f"grid search needs a finite set of values: give this {parameter.kind} range a "
                "step, or make it categorical",
            )
        else:
            count = math.floor((parameter.high - parameter.low) / parameter.step + 1e-9) + 1
            points = [parameter.low + index * parameter.step for index in range(count)]
            values[name] = [int(p) if parameter.kind == "int" else round(p, 12) for p in points]
    return values


def grid_size(space: SearchSpace) -> int:
    """How many combinations :func:`grid` has."""
    return math.prod(len(values) for values in grid(space).values())

"""Turn ``KEY=VALUE`` strings from the command line into a pipeline's typed arguments."""

import json
import math

from kfp.dsl import graph_component
from kfp.pipeline_spec import pipeline_spec_pb2

from kfp_mlops.components.common.uris import check_no_credentials

_TYPES = pipeline_spec_pb2.ParameterType.ParameterTypeEnum


def parameter_types(pipeline: graph_component.GraphComponent) -> dict[str, int]:
    """Parameter name to its KFP parameter type (a ``ParameterTypeEnum`` value)."""
    definitions = pipeline.pipeline_spec.root.input_definitions.parameters
    return {name: spec.parameter_type for name, spec in definitions.items()}


def required_parameters(pipeline: graph_component.GraphComponent) -> list[str]:
    """The parameters without a default value, which a run must be given."""
    definitions = pipeline.pipeline_spec.root.input_definitions.parameters
    return sorted(
        name
        for name, spec in definitions.items()
        if not spec.is_optional and not spec.HasField("default_value")
    )


def _convert(name: str, raw: str, parameter_type: int) -> object:
    def fail(expected: str) -> ValueError:
        return ValueError(f"parameter {name}={raw!r} is not {expected}")

    if parameter_type == _TYPES.STRING:
        return raw
    if parameter_type == _TYPES.NUMBER_INTEGER:
        try:
            return int(raw)
        except ValueError:
            raise fail("an integer") from None
    if parameter_type == _TYPES.NUMBER_DOUBLE:
        try:
            number = float(raw)
        except ValueError:
            raise fail("a number") from None
        if not math.isfinite(number):
            raise fail("a finite number")
        return number
    if parameter_type == _TYPES.BOOLEAN:
        lowered = raw.lower()
        if lowered not in ("true", "false"):
            raise fail("true or false")
        return lowered == "true"
    expected_type, expected = (
        (dict, "a JSON object")
        if parameter_type == _TYPES.STRUCT
        else (
            list,
            "a JSON list",
        )
    )
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except json.JSONDecodeError:
        raise fail(expected) from None
    except ValueError as error:
        # A run's parameters travel as protobuf Values, which cannot hold NaN or infinity.
        raise ValueError(f"parameter {name}={raw!r} holds {error}: use finite numbers") from None
    if not isinstance(value, expected_type):
        raise fail(expected)
    return value


def _refuse_constant(constant: str) -> float:
    """``json.loads`` takes NaN, Infinity and -Infinity by default; a parameter may not."""
    raise ValueError(constant)


def parse_arguments(
    pipeline: graph_component.GraphComponent, pairs: tuple[str, ...] | list[str]
) -> dict[str, object]:
    """Parses ``KEY=VALUE`` pairs into typed arguments of ``pipeline``.

    Integers, floats and booleans are parsed as such, dicts and lists as JSON, strings taken as they
    are. An unknown key, a malformed pair, a value of the wrong type or a URI carrying a credential
    (``components/common/uris.py``) raises ValueError naming it (the URI redacted).
    """
    types = parameter_types(pipeline)
    arguments: dict[str, object] = {}
    for pair in pairs:
        name, separator, raw = pair.partition("=")
        if not separator or not name:
            raise ValueError(f"parameter {pair!r} is not of the form KEY=VALUE")
        if name not in types:
            known = ", ".join(sorted(types))
            raise ValueError(f"unknown parameter {name!r}; the pipeline's parameters are: {known}")
        arguments[name] = _convert(name, raw, types[name])
        _refuse_credentials(name, arguments[name])
    return arguments


def _refuse_credentials(name: str, value: object) -> None:
    """A parameter is printed and stored with the run: no URI in it may carry a credential."""
    if isinstance(value, str):
        check_no_credentials(value, f"parameter {name}:")
    elif isinstance(value, dict):
        for item in value.values():
            _refuse_credentials(name, item)
    elif isinstance(value, list):
        for item in value:
            _refuse_credentials(name, item)

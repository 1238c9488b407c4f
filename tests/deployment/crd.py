"""Validate InferenceService objects against the CRD's v1beta1 openAPIV3Schema, as the API does.

The CRD is KServe's own: kserve_data/ beside this file holds the project's reference data
(../shared/data/kserve) copied unchanged, SOURCE.md naming the KServe commit, so that a clone tests
on its own (all but the ServingRuntime CRD, which no test reads). The API server validates a
custom object against that structural schema; it prunes fields the schema does not know unless
asked for strict field validation. These tests validate strictly: an unknown field is an error (it
would be silently dropped by the server, which is worse). ``format`` (int32, int64) is not
checked; everything else the schema says (types, required, enums, patterns, lengths,
int-or-string) is.
Imported as ``deployment.crd`` (pytest puts tests/ on the path).
"""

import copy
import functools
from pathlib import Path

import jsonschema
import yaml

KSERVE_DATA = Path(__file__).resolve().parent / "kserve_data"
CRD_FILE = KSERVE_DATA / "serving.kserve.io_inferenceservices.yaml"


def _strict(node: object) -> object:
    """Adds ``additionalProperties: false`` wherever an object lists its properties and does not
    say anything about others (x-kubernetes-preserve-unknown-fields keeps them allowed)."""
    if isinstance(node, dict):
        node = {key: _strict(value) for key, value in node.items()}
        if (
            "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_strict(item) for item in node]
    return node


@functools.cache
def v1beta1_schema() -> dict:
    """The CRD's v1beta1 openAPIV3Schema, strict about unknown fields."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 1 s instead of 4 s
    crd = yaml.load(CRD_FILE.read_text(encoding="utf-8"), Loader=loader)
    (version,) = [item for item in crd["spec"]["versions"] if item["name"] == "v1beta1"]
    return _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    schema = v1beta1_schema()
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema)


def errors(manifest: dict) -> list[str]:
    """Every violation of the schema, as ``path.to.field: message`` (empty when valid)."""
    found = sorted(_validator().iter_errors(manifest), key=lambda error: list(error.path))
    return [
        f"{'.'.join(str(part) for part in error.path) or '<root>'}: {error.message}"
        for error in found
    ]

"""Validate TrainJob objects against Kubeflow Trainer's CRD openAPIV3Schema, as the API server does.

trainer_data/ beside this file holds the project's reference data (../shared/data/trainer) copied
unchanged, SOURCE.md naming the kubeflow/trainer commit (all but the ClusterTrainingRuntime CRD,
which no test reads). Validation is strict about unknown fields
(see deployment/crd.py for why and for what is not checked: ``format``, and CEL rules
``x-kubernetes-validations``, which the fake API server checks for the name only).
Imported as ``training.trainer_crd`` (pytest puts tests/ on the path).
"""

import copy
import functools
from pathlib import Path

import jsonschema
import yaml
from deployment.crd import _strict

TRAINER_DATA = Path(__file__).resolve().parent / "trainer_data"
CRD_FILE = TRAINER_DATA / "trainer.kubeflow.org_trainjobs.yaml"


@functools.cache
def v1alpha1_schema() -> dict:
    """The CRD's v1alpha1 openAPIV3Schema, strict about unknown fields."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crd = yaml.load(CRD_FILE.read_text(encoding="utf-8"), Loader=loader)
    (version,) = [item for item in crd["spec"]["versions"] if item["name"] == "v1alpha1"]
    return _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    schema = v1alpha1_schema()
    return jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)(schema)


def errors(trainjob: dict) -> list[str]:
    """Every violation of the schema (status left out), as ``path.to.field: message``."""
    body = {key: value for key, value in trainjob.items() if key != "status"}
    found = sorted(_validator().iter_errors(body), key=lambda error: list(error.path))
    return [
        f"{'.'.join(str(part) for part in error.path) or '<root>'}: {error.message}"
        for error in found
    ]

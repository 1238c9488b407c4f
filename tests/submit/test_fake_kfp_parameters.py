"""Runtime parameters the fake KFP API refuses, answered as the KFP 2.17.0 backend answers them.

The expected texts are the backend's own (kubeflow/pipelines 2.17.0,
``backend/src/apiserver/template/v2_template.go`` ``validatePipelineJobInputs``, wrapped by
``run_server.go`` ``CreateRun`` and ``resource_manager.go`` ``CreateRun``); a client such as
``kfp run create`` shows the user exactly this body.
"""

import json
from pathlib import Path

import kfp
import pytest
from kfp_server_api.exceptions import ApiException
from support.fake_kfp import FakeKfp

PREFIX = (
    "Failed to create a new run: Failed to generate the ExecutionSpec: "
    "invalid pipeline job inputs: Invalid input error: "
)
REQUIRED = {
    "data_uri": "s3://bucket/data.csv",
    "target_column": "target",
    "mlflow_tracking_uri": "http://mlflow:5000",
}


def refusal(fake: FakeKfp, package: Path, arguments: dict) -> dict:
    client = kfp.Client(host=fake.url)
    with pytest.raises(ApiException) as refused:
        client.create_run_from_pipeline_package(
            str(package), arguments=arguments, experiment_name="ci", run_name="r"
        )
    assert refused.value.status == 400
    assert fake.runs == {}
    return json.loads(refused.value.body)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {**REQUIRED, "colour": "red"},
            "parameter(s) provided are not required by pipeline: colour",
        ),
        (
            {"target_column": "target", "mlflow_tracking_uri": "http://mlflow:5000"},
            "parameter data_uri is not optional, yet has neither default value nor user "
            "provided value",
        ),
        (
            {**REQUIRED, "seed": "7"},
            "input parameter seed requires type double or integer, but the parameter value is "
            "not of number value type",
        ),
        (
            {**REQUIRED, "deploy_to_cluster": 1},
            "input parameter deploy_to_cluster requires type bool, but the input parameter is "
            "not of bool value type",
        ),
    ],
    ids=["unknown", "missing", "number-as-text", "number-as-bool"],
)
def test_a_refused_parameter_gets_the_backends_message(
    fake_kfp: FakeKfp, compiled_pipeline: Path, arguments: dict, message: str
):
    body = refusal(fake_kfp, compiled_pipeline, arguments)

    assert body["code"] == 3  # google.rpc InvalidArgument
    assert body["message"] == PREFIX + message


def test_a_float_for_an_integer_parameter_is_accepted_as_the_backend_accepts_it(
    fake_kfp: FakeKfp, compiled_pipeline: Path
):
    # validatePipelineJobInputs checks only that the value is a JSON number.
    client = kfp.Client(host=fake_kfp.url)
    client.create_run_from_pipeline_package(
        str(compiled_pipeline),
        arguments={**REQUIRED, "seed": 7.5},
        experiment_name="ci",
        run_name="r",
    )

    (run,) = fake_kfp.runs.values()
    assert run.runtime_config.parameters["seed"] == 7.5

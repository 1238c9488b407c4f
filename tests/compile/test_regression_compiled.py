"""tabular-regression compiled: a PipelineSpec KFP parses, a file Vertex AI's PipelineJob takes."""

import re
from pathlib import Path

import pytest
from support.kfp_specs import all_tasks, load_specs

from kfp_mlops.compile.compiler import compile_all
from kfp_mlops.pipelines import placement

PIPELINE = "tabular-regression"


def test_the_regression_steps_and_the_gate_branches(compiled_dir: Path):
    spec, platform = load_specs(compiled_dir / "pipelines" / f"{PIPELINE}.yaml")
    # kfp-kubernetes settings: every step gets the optional credential secrets
    # (pipelines/credentials.py), as the classification pipelines' steps do.
    configured = set(re.findall(r'key: "exec-([a-z0-9-]+)"', str(platform)))
    executors = {name.removeprefix("exec-") for name in spec.deployment_spec["executors"]}
    assert configured == executors, executors ^ configured
    tasks = all_tasks(spec)
    for step in (
        "validate-regression-dataset",
        "split-regression-dataset",
        "train-sklearn-regressor",
        "evaluate-regressor",
        "champion-challenger-gate",
        "register-model",
        "serve-check",
        "record-rejection",
        "create-study",
        "run-trials",
        "given-regressor-hyperparameters",
    ):
        assert step in tasks, step
    # register and serve-check only under the gate's If, the rejection record under its Else
    gate_approved = tasks["register-model"][0]
    assert gate_approved.startswith("condition-") and tasks["serve-check"][0] == gate_approved
    assert tasks["record-rejection"][0] not in ("root", gate_approved)
    parameters = spec.root.input_definitions.parameters
    assert parameters["estimator"].default_value.string_value == "ridge"
    assert dict(parameters["thresholds"].default_value.struct_value) == {"r2": 0.3}
    assert parameters["target_bins"].default_value.number_value == 10
    assert "min_class_balance" not in parameters
    assert parameters["tuning_metric"].default_value.string_value == "rmse"
    evaluate = spec.components["comp-evaluate-regressor"]
    outputs = evaluate.output_definitions
    assert outputs.artifacts["report"].artifact_type.schema_title == "system.HTML"
    assert outputs.artifacts["metrics"].artifact_type.schema_title == "system.Metrics"
    assert set(outputs.parameters) == {
        "rmse",
        "mae",
        "r2",
        "mape",
        "median_absolute_error",
        "max_error",
    }


@pytest.fixture(scope="module")
def vertex_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("vertex")
    compile_all(out, options=placement.BuildOptions(target="vertex"))
    return out


def test_aiplatform_accepts_the_vertex_yaml_offline(vertex_dir: Path):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    aiplatform.init(
        project="dummy-project", location="us-central1", credentials=AnonymousCredentials()
    )
    job = aiplatform.PipelineJob(
        display_name=PIPELINE,
        template_path=str(vertex_dir / "pipelines" / f"{PIPELINE}.yaml"),
        pipeline_root="gs://dummy-bucket/root",
        parameter_values={
            "data_uri": "gs://dummy-bucket/diabetes.csv",
            "target_column": "target",
            "mlflow_tracking_uri": "https://mlflow.example.com",
            "thresholds": {"rmse": 60.0, "r2": 0.3},
        },
        enable_caching=False,
    )
    spec = job.to_dict()["pipelineSpec"]
    assert "comp-evaluate-regressor" in spec["components"]
    values = job.to_dict()["runtimeConfig"]["parameterValues"]
    assert values["thresholds"] == {"rmse": 60.0, "r2": 0.3}

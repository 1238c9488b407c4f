"""Pipeline parameters reach the steps that use them, through every nested group, in the compiled
PipelineSpec the backend executes (not only as text in the golden files).

Each step input is followed up its chain of ``componentInputParameter`` references (condition
branches and nested pipelines each re-declare a parameter under their own name) to the root
pipeline parameter it comes from.
"""

from pathlib import Path

import pytest
from kfp import compiler
from support.kfp_specs import load_specs

from kfp_mlops.pipelines.tabular_regression import (
    tabular_regression,
    tabular_regression_on_dataset,
)


def parameter_sources(spec: object) -> dict[tuple[str, str], str | None]:
    """(step path, input name) to the root pipeline parameter it is wired to (None: not one)."""
    found: dict[tuple[str, str], str | None] = {}

    def walk(path: str, dag: object, resolve: object) -> None:
        for name, task in dag.tasks.items():
            here = f"{path}/{name}" if path else name
            inputs = {
                key: resolve(value.component_input_parameter)
                for key, value in task.inputs.parameters.items()
                if value.component_input_parameter
            }
            component = spec.components[task.component_ref.name]
            if component.WhichOneof("implementation") == "dag":
                walk(here, component.dag, inputs.get)
            else:
                for key, source in inputs.items():
                    found[(here, key)] = source

    walk("", spec.root.dag, lambda name: name)
    return found


def steps_fed_by(compiled_dir: Path, pipeline: str, parameter: str) -> set[tuple[str, str]]:
    spec, _ = load_specs(compiled_dir / "pipelines" / f"{pipeline}.yaml")
    return {
        (path.rsplit("/", 1)[-1], key)
        for (path, key), source in parameter_sources(spec).items()
        if source == parameter
    }


@pytest.mark.parametrize(
    ("parameter", "steps"),
    [
        ("champion_relative_margin", {("champion-challenger-gate", "relative_margin")}),
        ("champion_min_improvement", {("champion-challenger-gate", "min_improvement")}),
        ("canary_traffic_percent", {("deploy-inference-service", "canary_traffic_percent")}),
        ("serving_format", {("deploy-inference-service", "model_format")}),
        ("time_column", {("split-dataset", "time_column")}),
    ],
)
def test_tabular_classification_passes_each_parameter_to_its_step(compiled_dir, parameter, steps):
    assert steps_fed_by(compiled_dir, "tabular-classification", parameter) == steps


@pytest.mark.parametrize("pipeline", [tabular_regression, tabular_regression_on_dataset])
def test_tabular_regression_passes_serving_format_to_the_deploy_step(pipeline, tmp_path):
    # the on-dataset pipeline ships nested in retrain-on-drift only: both are compiled here
    compiled = tmp_path / "pipelines" / "compiled.yaml"
    compiled.parent.mkdir()
    compiler.Compiler().compile(pipeline, str(compiled))

    assert steps_fed_by(tmp_path, "compiled", "serving_format") == {
        ("deploy-inference-service", "model_format")
    }
    spec, _ = load_specs(compiled)
    default = spec.root.input_definitions.parameters["serving_format"].default_value
    assert default.string_value == "sklearn"


def test_the_walker_sees_through_condition_groups(compiled_dir):
    # The deploy step sits three groups deep (gate approved, If/Else, deploy_to_cluster): its
    # inputs are named pipelinechannel--... there, and resolve to the root parameters here.
    spec, _ = load_specs(compiled_dir / "pipelines" / "tabular-classification.yaml")
    sources = parameter_sources(spec)
    (path,) = {path for path, key in sources if path.endswith("/deploy-inference-service")}
    assert path.count("/") >= 2
    assert sources[(path, "service_name")] == "service_name"
    assert sources[(path, "namespace")] == "namespace"


def test_retrain_on_drift_passes_time_column_into_the_nested_training(compiled_dir):
    spec, _ = load_specs(compiled_dir / "pipelines" / "retrain-on-drift.yaml")
    fed = {
        path for (path, key), source in parameter_sources(spec).items() if source == "time_column"
    }
    # the classifier's and the regressor's retraining, one of which runs (the champion's task)
    assert sorted(path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1] for path in fed) == [
        "tabular-classification-on-dataset/split-dataset",
        "tabular-regression-on-dataset/split-regression-dataset",
    ]

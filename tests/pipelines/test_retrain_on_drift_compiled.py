"""retrain-on-drift compiles to the shape it promises: checks, a decision, the nested pipeline."""

import pytest

from kfp_mlops.compile.local_run import compiled_for_local_run
from kfp_mlops.pipelines import retrain_on_drift, tabular_classification


@pytest.fixture(scope="module")
def spec():
    return compiled_for_local_run(retrain_on_drift).pipeline_spec


def outer_tasks(spec) -> dict[str, tuple[object, object]]:
    """The outer pipeline's tasks, not those of the nested pipeline (whose group names repeat
    the outer ones): name to (the group task holding it or None at the root, the task)."""
    found = {}

    def walk(group, dag) -> None:
        for name, task in dag.tasks.items():
            found[name] = (group, task)
            component = spec.components[task.component_ref.name]
            if component.WhichOneof("implementation") == "dag" and name != "tabular-classification":
                walk(task, component.dag)

    walk(None, spec.root.dag)
    return found


def test_retraining_is_tabular_classification_nested_under_the_decision(spec):
    tasks = outer_tasks(spec)
    group, nested = tasks["tabular-classification"]
    component = spec.components[nested.component_ref.name]
    assert component.WhichOneof("implementation") == "dag"
    assert set(component.dag.tasks) == set(tabular_classification.pipeline_spec.root.dag.tasks)
    assert group.task_info.name == "retrain"
    channel = "pipelinechannel--decide-retraining-retrain"
    assert group.trigger_policy.condition == f"inputs.parameter_values['{channel}'] == true"
    else_group, _ = tasks["record-no-retraining"]
    assert else_group.task_info.name == "keep-model"
    assert else_group.trigger_policy.condition == (
        f"!(inputs.parameter_values['{channel}'] == true)"
    )


def test_the_decision_reads_both_checks(spec):
    _, decide = outer_tasks(spec)["decide-retraining"]
    producers = {
        name: parameter.task_output_parameter.producer_task
        for name, parameter in decide.inputs.parameters.items()
    }
    assert producers == {
        "drift_detected": "detect-drift",
        "drift_reasons": "detect-drift",
        "quality_degraded": "check-model-quality",
        "quality_reasons": "check-model-quality",
    }


def test_the_quality_check_is_never_cached(spec):
    _, quality = outer_tasks(spec)["check-model-quality"]
    assert not quality.caching_options.enable_cache


def test_the_nested_pipeline_trains_on_the_current_data(spec):
    _, nested = outer_tasks(spec)["tabular-classification"]
    data_uri = nested.inputs.parameters["data_uri"].component_input_parameter
    assert data_uri == "pipelinechannel--current_uri"

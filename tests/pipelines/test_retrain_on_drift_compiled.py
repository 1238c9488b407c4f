"""retrain-on-drift compiles to the shape it promises: checks, a decision, the nested pipeline."""

import pytest

from kfp_mlops.compile.local_run import compiled_for_local_run
from kfp_mlops.pipelines import retrain_on_drift, tabular_classification, tabular_regression

NESTED = "tabular-classification-on-dataset"
REGRESSION_NESTED = "tabular-regression-on-dataset"


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
            nested = name in (NESTED, REGRESSION_NESTED)
            if component.WhichOneof("implementation") == "dag" and not nested:
                walk(task, component.dag)

    walk(None, spec.root.dag)
    return found


def test_retraining_is_tabular_classification_nested_under_the_decision(spec):
    tasks = outer_tasks(spec)
    group, nested = tasks[NESTED]
    component = spec.components[nested.component_ref.name]
    assert component.WhichOneof("implementation") == "dag"
    # tabular-classification's steps after ingest, the same tasks by the same definition.
    after_ingest = set(tabular_classification.pipeline_spec.root.dag.tasks) - {
        "resolve-data-version",
        "ingest-dataset",
    }
    assert set(component.dag.tasks) == after_ingest
    # the Else of "the champion is a regressor", inside the retrain branch
    assert group.task_info.name == "retrain-classifier"
    chain = []
    while group is not None:
        chain.append(group)
        group = next(outer for outer, task in tasks.values() if task is group)
    assert [item.task_info.name for item in chain][::2] == ["retrain-classifier", "retrain"]
    retrain = chain[2]
    channel = "pipelinechannel--decide-retraining-retrain"
    assert retrain.trigger_policy.condition == f"inputs.parameter_values['{channel}'] == true"
    else_group, _ = tasks["record-no-retraining"]
    assert else_group.task_info.name == "keep-model"
    assert else_group.trigger_policy.condition == (
        f"!(inputs.parameter_values['{channel}'] == true)"
    )


def test_a_regression_champion_is_retrained_by_tabular_regression_nested(spec):
    tasks = outer_tasks(spec)
    group, nested = tasks[REGRESSION_NESTED]
    component = spec.components[nested.component_ref.name]
    after_ingest = set(tabular_regression.pipeline_spec.root.dag.tasks) - {
        "resolve-data-version",
        "ingest-dataset",
    }
    assert set(component.dag.tasks) == after_ingest
    assert group.task_info.name == "retrain-regressor"
    channel = "pipelinechannel--check-model-quality-champion_task"
    assert group.trigger_policy.condition == f"inputs.parameter_values['{channel}'] == 'regression'"
    given = nested.inputs.parameters["estimator"].component_input_parameter
    assert given.removeprefix("pipelinechannel--") == "regression_estimator"
    thresholds = nested.inputs.parameters["thresholds"].component_input_parameter
    assert thresholds.removeprefix("pipelinechannel--") == "regression_thresholds"


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


def test_the_nested_pipeline_trains_on_the_current_data_ingested_once(spec):
    _, nested = outer_tasks(spec)[NESTED]
    channel = nested.inputs.artifacts["dataset"].component_input_artifact
    # The condition groups pass the channel down; the root's group takes it from a task output.
    [producer] = [
        task.inputs.artifacts[channel].task_output_artifact
        for task in spec.root.dag.tasks.values()
        if channel in task.inputs.artifacts
    ]
    assert producer.output_artifact_key == "dataset"
    _, ingest = outer_tasks(spec)[producer.producer_task]
    assert ingest.inputs.parameters["source_uri"].component_input_parameter == "current_uri"
    functions = [
        spec.deployment_spec["executors"][component.executor_label]["container"]["args"]
        for component in spec.components.values()
        if component.executor_label
    ]
    ingests = [args for args in functions if "ingest_dataset" in args]
    assert len(ingests) == 2, "the reference and the current data, each ingested once"


def _tasks_in(spec, dag) -> dict[str, object]:
    """Every task of ``dag`` and of the condition groups inside it, by name."""
    found = {}
    for name, task in dag.tasks.items():
        found[name] = task
        component = spec.components[task.component_ref.name]
        if component.WhichOneof("implementation") == "dag" and name.startswith("condition"):
            found |= _tasks_in(spec, component.dag)
    return found


def test_the_retrainings_gate_and_promotion_use_the_champion_alias_given(spec):
    _, nested = outer_tasks(spec)[NESTED]
    given = nested.inputs.parameters["champion_alias"].component_input_parameter
    assert given.removeprefix("pipelinechannel--") == "champion_alias"
    inner = _tasks_in(spec, spec.components[nested.component_ref.name].dag)
    users = ["champion-challenger-gate", "promote-champion", "register-model-with-card"]
    for name in users:
        source = inner[name].inputs.parameters["champion_alias"].component_input_parameter
        assert source.removeprefix("pipelinechannel--") == "champion_alias", name

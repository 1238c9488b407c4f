"""The compiled tuning sub-pipeline and its place in tabular-classification."""

import re
from pathlib import Path

import pytest
import yaml
from kfp import compiler
from support.kfp_specs import all_tasks, load_specs

from kfp_mlops.compile.compiler import compile_to_text
from kfp_mlops.components import images
from kfp_mlops.pipelines.tabular_classification import tabular_classification
from kfp_mlops.pipelines.tuning import tune_hyperparameters


@pytest.fixture(scope="module")
def tabular_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("yaml") / "tabular.yaml"
    path.write_text(compile_to_text(tabular_classification, images.DEFAULT_SETTINGS))
    return path


def test_tuning_runs_only_with_trials_and_feeds_training_through_one_of(tabular_yaml):
    spec, _ = load_specs(tabular_yaml)
    tasks = all_tasks(spec)
    tuned_group, _ = tasks["tune-hyperparameters"]
    untuned_group, _ = tasks["given-hyperparameters"]
    assert tuned_group != untuned_group
    tuned_condition = tasks[tuned_group][1].trigger_policy.condition
    assert tuned_condition == "int(inputs.parameter_values['pipelinechannel--n_trials']) > 0"
    assert tasks[untuned_group][1].trigger_policy.condition == f"!({tuned_condition})"
    # Training reads the hyperparameters the branches group resolved from whichever branch ran.
    _, train = tasks["train-sklearn"]
    source = train.inputs.parameters["hyperparameters"].task_output_parameter
    branches = source.producer_task
    assert tasks[tuned_group][0] == tasks[untuned_group][0] == branches
    one_of = spec.components[tasks[branches][1].component_ref.name].dag.outputs
    selectors = one_of.parameters[source.output_parameter_key].value_from_oneof
    producers = {selector.producer_subtask for selector in selectors.parameter_selectors}
    assert producers == {tuned_group, untuned_group}


def test_workers_fan_out_over_create_study_output_and_retry(tabular_yaml):
    spec, _ = load_specs(tabular_yaml)
    tasks = all_tasks(spec)
    loop_name, workers = tasks["run-trials"]
    _, loop = tasks[loop_name]
    assert loop.task_info.name == "tuning-workers"
    assert loop.parameter_iterator.items.input_parameter == "pipelinechannel--create-study-Output"
    assert workers.retry_policy.max_retry_count == 2
    assert loop_name in tasks["summarize-study"][1].dependent_tasks
    for name in ("create-study", "run-trials", "summarize-study"):
        assert not tasks[name][1].caching_options.enable_cache, name


def test_storage_credentials_come_from_an_optional_secret_never_the_yaml(tabular_yaml):
    _, platform = yaml.safe_load_all(tabular_yaml.read_text())
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for executor in ("exec-create-study", "exec-run-trials", "exec-summarize-study"):
        (secret,) = executors[executor]["secretAsEnv"]
        assert secret["keyToEnv"] == [{"envVar": "OPTUNA_STORAGE_URL", "secretKey": "url"}]
        assert secret["optional"] is True
        assert "componentInputParameter" in secret["secretNameParameter"]
    # No database URL with a user or password anywhere (descriptions only show placeholders).
    assert not re.search(r"\w+://[\w.-]+(:[^@\s/]*)?@(?!HOST)", tabular_yaml.read_text())


def test_the_sub_pipeline_compiles_on_its_own(tmp_path):
    path = tmp_path / "tune.yaml"
    compiler.Compiler().compile(tune_hyperparameters, str(path))
    spec, platform = load_specs(path)
    assert set(spec.root.output_definitions.parameters) == {"best_hyperparameters", "best_score"}
    assert set(spec.root.input_definitions.artifacts) == {"train", "validation"}
    assert spec.root.input_definitions.parameters["storage_secret"].default_value.string_value == (
        "optuna-storage"
    )
    assert platform is not None

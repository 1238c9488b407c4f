"""Every task's caching is decided on purpose, and the compiled YAML keeps the decision.

The rule: a step that reads or changes state outside its inputs (the model registry, the cluster,
the tuning storage, data behind a URI) is never cached; a pure step (a function of its inputs) is.
Ingest is pure here because the data version resolved just before it is one of its inputs.
"""

from pathlib import Path

from kfp.pipeline_spec import pipeline_spec_pb2
from support.kfp_specs import load_specs

NEVER_CACHED = {
    "resolve_data_version": "reads the data behind a URI: it is what notices new data",
    "champion_challenger_gate": "reads the champion from the MLflow registry",
    "register_model": "writes a version to the MLflow registry",
    "promote_champion": "moves the registry's aliases",
    "check_champion": "reads the champion from the MLflow registry",
    "model_card": "writes the card to the version's MLflow run",
    "register_model_with_card": "writes a version and its card to the MLflow registry",
    "check_model_quality": "reads the champion from the MLflow registry",
    "deploy_inference_service": "changes the cluster",
    "create_study": "creates or continues a study in the tuning storage",
    "run_trials": "adds trials to the shared study in the tuning storage",
    "summarize_study": "reads the study's trials from the tuning storage",
    "serve_check": "proves the model serves in the serving runtime now, and measures latency",
}
CACHED = {
    "ingest_dataset": "keyed by source_uri and its data_version",
    "validate_dataset": "a function of the Dataset and the rules",
    "validate_regression_dataset": "a function of the Dataset and the rules",
    "split_dataset": "a function of the Dataset and the seed",
    "split_regression_dataset": "a function of the Dataset, the seed and the bins",
    "given_hyperparameters": "a function of its parameters",
    "given_regressor_hyperparameters": "a function of its parameters",
    "train_sklearn": "seeded, a function of the splits and hyperparameters",
    "train_pytorch": "seeded, a function of the splits and hyperparameters",
    "train_pytorch_distributed": "seeded, a function of the splits and hyperparameters (the "
    "TrainJob is how it trains, not what it depends on)",
    "train_sklearn_regressor": "seeded, a function of the splits and hyperparameters",
    "evaluate_classifier": "a function of the Model and the test split",
    "evaluate_regressor": "a function of the Model and the test split",
    "metric_gate": "a function of the Metrics and the thresholds",
    "record_rejection": "a function of the gate's outputs",
    "detect_drift": "a function of the two Datasets and the thresholds",
    "decide_retraining": "a function of the checks' outputs",
    "record_no_retraining": "a function of the decision's reasons",
}


def _function(spec: pipeline_spec_pb2.PipelineSpec, component_name: str) -> str:
    """The Python function a container component runs (its --function_to_execute)."""
    label = spec.components[component_name].executor_label
    args = list(spec.deployment_spec["executors"][label]["container"]["args"])
    return args[args.index("--function_to_execute") + 1]


def _container_tasks(spec: pipeline_spec_pb2.PipelineSpec) -> list[tuple[str, str, bool]]:
    """Every container task, nested ones included: (path, function, caching enabled)."""
    found = []

    def walk(prefix: str, dag: object) -> None:
        for name, task in dag.tasks.items():
            component = spec.components[task.component_ref.name]
            if component.WhichOneof("implementation") == "dag":
                walk(f"{prefix}{name}/", component.dag)
            else:
                function = _function(spec, task.component_ref.name)
                found.append((prefix + name, function, task.caching_options.enable_cache))

    walk("", spec.root.dag)
    return found


def test_every_task_of_every_pipeline_is_cached_exactly_when_it_is_pure(compiled_dir: Path):
    checked = set()
    for path in sorted((compiled_dir / "pipelines").glob("*.yaml")):
        spec, _ = load_specs(path)
        for task, function, enabled in _container_tasks(spec):
            where = f"{path.stem}: {task} ({function})"
            assert function in NEVER_CACHED or function in CACHED, (
                f"{where} has no caching decision: add it to NEVER_CACHED or CACHED"
            )
            if function in NEVER_CACHED:
                assert not enabled, f"{where} must never be cached: {NEVER_CACHED[function]}"
            else:
                assert enabled, f"{where} is pure ({CACHED[function]}) and should be cached"
            checked.add(function)
    assert "resolve_data_version" in checked and "ingest_dataset" in checked


def test_every_ingest_takes_the_version_resolved_just_before_it(compiled_dir: Path):
    for path in sorted((compiled_dir / "pipelines").glob("*.yaml")):
        spec, _ = load_specs(path)
        dags = [spec.root.dag] + [c.dag for c in spec.components.values() if c.HasField("dag")]
        ingests = 0
        for dag in dags:
            for name, task in dag.tasks.items():
                component = spec.components[task.component_ref.name]
                if component.HasField("dag") or _function(spec, task.component_ref.name) != (
                    "ingest_dataset"
                ):
                    continue
                ingests += 1
                version = task.inputs.parameters["data_version"].task_output_parameter
                producer = dag.tasks[version.producer_task]
                assert _function(spec, producer.component_ref.name) == "resolve_data_version", name
                assert not producer.caching_options.enable_cache
        assert ingests >= 1, path.stem

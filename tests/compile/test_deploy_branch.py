"""The compiled tabular-classification pipeline deploys to KServe only when asked, after the
serve-check and the registration, after checking the champion; it promotes the champion after the
deployment, or in the registration step when no deployment follows."""

from pathlib import Path

from support.kfp_specs import all_tasks, load_specs


def _condition_group(tasks: dict, name: str) -> tuple[str, str]:
    group, _ = tasks[name]
    return group, tasks[group][1].trigger_policy.condition


def test_deployment_runs_only_when_deploy_to_cluster_is_true(compiled_dir: Path):
    spec, _ = load_specs(compiled_dir / "pipelines" / "tabular-classification.yaml")
    tasks = all_tasks(spec)
    deploy_group, deploy_condition = _condition_group(tasks, "deploy-inference-service")

    channel = "pipelinechannel--deploy_to_cluster"
    assert deploy_condition == f"inputs.parameter_values['{channel}'] == true"
    assert tasks["promote-champion"][0] == deploy_group
    # The deployment branch sits inside the gate's approved branch, with the serve-check and
    # the registration; there is no other promotion step.
    approved = tasks["serve-check"][0]
    assert tasks[deploy_group][0] == approved
    assert tasks["register-model-with-card"][0] == approved
    assert [name for name in tasks if name.startswith("promote-champion")] == ["promote-champion"]
    defaults = spec.root.input_definitions.parameters
    assert defaults["deploy_to_cluster"].default_value.bool_value is False


def test_deployment_follows_the_serve_check_and_promotion_the_deployment(compiled_dir: Path):
    spec, _ = load_specs(compiled_dir / "pipelines" / "tabular-classification.yaml")
    tasks = all_tasks(spec)
    _, deploy = tasks["promote-champion"]
    assert "deploy-inference-service" in deploy.dependent_tasks
    service = deploy.inputs.artifacts["inference_service"].task_output_artifact
    assert (service.producer_task, service.output_artifact_key) == (
        "deploy-inference-service",
        "inference_service",
    )
    compared = deploy.inputs.parameters["compared_champion"].component_input_parameter
    assert compared == "pipelinechannel--champion-challenger-gate-champion_version"
    # The deployment branch waits for the registration whose version it takes.
    branch = tasks["deploy-inference-service"][0]
    assert "register-model-with-card" in tasks[branch][1].dependent_tasks


def test_the_registration_promotes_only_when_no_deployment_follows(compiled_dir: Path):
    spec, _ = load_specs(compiled_dir / "pipelines" / "tabular-classification.yaml")
    tasks = all_tasks(spec)
    inputs = tasks["register-model-with-card"][1].inputs.parameters
    assert inputs["deployment_follows"].component_input_parameter == (
        "pipelinechannel--deploy_to_cluster"
    )
    compared = inputs["compared_champion"].component_input_parameter
    assert compared == "pipelinechannel--champion-challenger-gate-champion_version"
    assert inputs["champion_alias"].component_input_parameter == ("pipelinechannel--champion_alias")


def test_the_model_serves_before_it_is_registered(compiled_dir: Path):
    spec, _ = load_specs(compiled_dir / "pipelines" / "tabular-classification.yaml")
    tasks = all_tasks(spec)
    assert "serve-check" in tasks["register-model-with-card"][1].dependent_tasks
    assert "register-model-with-card" not in tasks["serve-check"][1].dependent_tasks


def test_the_champion_is_checked_before_traffic_moves(compiled_dir: Path):
    spec, _ = load_specs(compiled_dir / "pipelines" / "tabular-classification.yaml")
    tasks = all_tasks(spec)
    group, check = tasks["check-champion"]
    assert group == tasks["deploy-inference-service"][0]
    assert "check-champion" in tasks["deploy-inference-service"][1].dependent_tasks
    compared = check.inputs.parameters["compared_champion"].component_input_parameter
    assert compared == "pipelinechannel--champion-challenger-gate-champion_version"

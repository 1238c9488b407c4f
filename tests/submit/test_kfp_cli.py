"""The plain ``kfp`` CLI against the fake API: the README's CI flow, and what it sends."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.fake_kfp import FakeKfp, RunScript

pytestmark = pytest.mark.slow  # every kfp command is a new Python process

KFP = str(Path(sys.executable).parent / "kfp")
FLOW = Path(__file__).parents[2] / "scripts" / "kfp-run-create.sh"
ARGUMENTS = (
    "data_uri=s3://bucket/data.csv",
    "target_column=target",
    "mlflow_tracking_uri=http://mlflow:5000",
    "seed=7",
    'thresholds={"accuracy": 0.95}',
)


def environment(fake: FakeKfp, home: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KF_PIPELINES_", "KUBE"))
    }
    return {
        **env,
        "HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}:{env['PATH']}",
        **extra,
    }


def run_flow(fake: FakeKfp, package: Path, home: Path, **extra: str) -> subprocess.CompletedProcess:
    env = environment(
        fake,
        home,
        KFP_ENDPOINT=fake.url,
        PIPELINE_FILE=str(package),
        EXPERIMENT="ci",
        RUN_NAME="ci-run",
        POLL_SECONDS="0",
        **extra,
    )
    return subprocess.run(
        ["bash", str(FLOW), *ARGUMENTS], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.parametrize(
    ("script", "code", "last_line"),
    [
        (RunScript(skip=("record-rejection",), tasks_per_read=100), 0, "succeeded"),
        (
            RunScript(skip=("register-model-with-card", "serve-check"), tasks_per_read=100),
            3,
            "rejected",
        ),
        (RunScript(fail_at="train-sklearn", tasks_per_read=100), 1, "FAILED"),
    ],
    ids=["succeeded", "rejected", "failed"],
)
def test_readme_ci_flow_exits_like_submit_wait(
    fake_kfp: FakeKfp, compiled_pipeline: Path, tmp_path: Path, script, code, last_line
):
    fake_kfp.script = script
    finished = run_flow(fake_kfp, compiled_pipeline, tmp_path)

    assert finished.returncode == code, finished.stdout + finished.stderr[-3000:]
    assert last_line in finished.stdout.strip().splitlines()[-1]
    assert "  SUCCEEDED  split-dataset" in finished.stdout
    (run,) = fake_kfp.runs.values()
    # `kfp run create --package-file` sends the spec inline; the arguments are typed by their
    # text (JSON, then int, float, bool), not by the pipeline's signature.
    assert run.pipeline_spec is not None and run.pipeline_version_reference is None
    assert run.runtime_config.parameters == {
        "data_uri": "s3://bucket/data.csv",
        "target_column": "target",
        "mlflow_tracking_uri": "http://mlflow:5000",
        "seed": 7,
        "thresholds": {"accuracy": 0.95},
    }


def test_readme_ci_flow_passes_the_token(
    fake_kfp: FakeKfp, compiled_pipeline: Path, tmp_path: Path
):
    fake_kfp.reset(token="ci-token")
    fake_kfp.script = RunScript(tasks_per_read=100)
    finished = run_flow(fake_kfp, compiled_pipeline, tmp_path, KF_PIPELINES_TOKEN="ci-token")

    assert finished.returncode == 0, finished.stdout + finished.stderr[-3000:]
    assert {r.headers["authorization"] for r in fake_kfp.requests} == {"Bearer ci-token"}


def argv_recorders(folder: Path, log: Path) -> Path:
    """``kfp`` and ``python3`` wrappers that append their command line to ``log``, then run the
    real ones: what any user of the machine could read in ps or /proc/PID/cmdline."""
    folder.mkdir()
    for command in ("kfp", "python3"):
        real = Path(sys.executable) if command == "python3" else Path(KFP)
        wrapper = folder / command
        wrapper.write_text(f'#!/bin/bash\necho "{command} $*" >> {log}\nexec {real} "$@"\n')
        wrapper.chmod(0o755)
    return folder


def test_readme_ci_flow_never_puts_the_token_on_a_command_line(
    fake_kfp: FakeKfp, compiled_pipeline: Path, tmp_path: Path
):
    fake_kfp.reset(token="ci-token")
    fake_kfp.script = RunScript(tasks_per_read=100)
    log = tmp_path / "argv.log"
    wrappers = argv_recorders(tmp_path / "bin", log)
    finished = run_flow(
        fake_kfp,
        compiled_pipeline,
        tmp_path,
        KF_PIPELINES_TOKEN="ci-token",
        PATH=f"{wrappers}:{Path(sys.executable).parent}:{os.environ['PATH']}",
    )

    assert finished.returncode == 0, finished.stdout + finished.stderr[-3000:]
    assert {r.headers["authorization"] for r in fake_kfp.requests} == {"Bearer ci-token"}
    assert log.read_text().strip()  # the CLI did run through a recorded command
    assert "ci-token" not in log.read_text()


def test_readme_ci_flow_stops_waiting_at_its_deadline(
    fake_kfp: FakeKfp, compiled_pipeline: Path, tmp_path: Path
):
    fake_kfp.reset()
    fake_kfp.script = RunScript(tasks_per_read=1)
    finished = run_flow(fake_kfp, compiled_pipeline, tmp_path, DEADLINE_SECONDS="0")

    assert finished.returncode == 1
    last = finished.stdout.strip().splitlines()[-1]
    assert last.endswith("after 0 s (DEADLINE_SECONDS); stopped waiting, the run goes on")


def test_kfp_pipeline_create_uploads_the_file_byte_for_byte(
    fake_kfp: FakeKfp, compiled_pipeline: Path, tmp_path: Path
):
    env = environment(fake_kfp, tmp_path)
    command = [KFP, "--endpoint", fake_kfp.url, "--output", "json", "pipeline", "create"]
    created = subprocess.run(
        [*command, "-p", "tabular-classification", str(compiled_pipeline)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    pipeline = json.loads(created.stdout[created.stdout.index("{") :])

    (upload,) = fake_kfp.uploads
    assert upload.content == compiled_pipeline.read_bytes()
    assert pipeline["display_name"] == "tabular-classification"
    assert pipeline["pipeline_id"] in fake_kfp.pipelines


def recurring_run_create(fake: FakeKfp, home: Path, package: Path, *arguments: str):
    env = environment(fake, home)
    base = [KFP, "--endpoint", fake.url, "--output", "json"]
    command = [
        *base,
        "recurring-run",
        "create",
        "--experiment-name",
        "nightly",
        "--job-name",
        "drift-check",
        "--cron-expression",
        "0 0 2 * * *",
        "--pipeline-package-path",
        str(package),
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_kfp_recurring_run_create_makes_a_cron_schedule(
    fake_kfp: FakeKfp, compiled_pipeline: Path, tmp_path: Path
):
    created = recurring_run_create(fake_kfp, tmp_path, compiled_pipeline, *ARGUMENTS[:3])

    assert created.returncode == 0, created.stderr[-3000:]
    (recurring,) = fake_kfp.recurring_runs.values()
    assert recurring.trigger.cron_schedule.cron == "0 0 2 * * *"
    assert recurring.display_name == "drift-check"
    assert recurring.no_catchup is True
    assert recurring.runtime_config.parameters["target_column"] == "target"


def test_kfp_recurring_run_create_sends_every_argument_as_text(
    fake_kfp: FakeKfp, compiled_pipeline: Path, tmp_path: Path
):
    # Unlike `kfp run create`, `kfp recurring-run create` does not parse its KEY=VALUE
    # arguments: seed=7 is sent as the string "7" for an integer parameter.
    created = recurring_run_create(fake_kfp, tmp_path, compiled_pipeline, *ARGUMENTS[:3], "seed=7")

    assert created.returncode != 0
    # The KFP 2.17.0 backend's answer (job_server.go CreateRecurringRun, resource_manager.go
    # CreateJob, v2_template.go validatePipelineJobInputs), which the CLI shows.
    assert (
        "Failed to create a recurring run: Failed to create a recurring run during scheduled "
        "workflow creation: invalid pipeline job inputs: Invalid input error: input parameter "
        "seed requires type double or integer, but the parameter value is not of number value "
        "type"
    ) in created.stderr
    assert fake_kfp.recurring_runs == {}

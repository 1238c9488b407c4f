"""``kfp-mlops schedule`` against the fake Kubeflow Pipelines API: a cron recurring run."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.fake_kfp import ApiError, FakeKfp

from kfp_mlops.compile.cli import main

REQUIRED = (
    "data_uri=s3://bucket/data.csv",
    "target_column=target",
    "mlflow_tracking_uri=http://mlflow:5000",
)


def schedule(fake: FakeKfp, source: str | Path, *extra: str, cron: str = "0 0 2 * * *"):
    arguments = ["schedule", str(source), "--endpoint", fake.url, "--cron", cron, "--json"]
    for param in (*REQUIRED, "seed=3"):
        arguments += ["--param", param]
    return CliRunner().invoke(main, [*arguments, *extra], catch_exceptions=False)


def test_creates_a_cron_recurring_run_of_the_uploaded_version(
    fake_kfp: FakeKfp, compiled_pipeline: Path
):
    result = schedule(fake_kfp, compiled_pipeline, "--experiment", "nightly", "--name", "drift")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    recurring = fake_kfp.recurring_runs[summary["recurring_run_id"]]
    assert recurring.display_name == "drift"
    assert recurring.trigger.cron_schedule.cron == "0 0 2 * * *"
    assert recurring.mode == "ENABLE" and recurring.status == "ENABLED"
    assert recurring.no_catchup is True
    assert recurring.max_concurrency == "1"
    assert recurring.pipeline_version_reference.pipeline_version_id == summary["version_id"]
    assert fake_kfp.experiments[recurring.experiment_id].display_name == "nightly"
    (upload,) = fake_kfp.uploads
    assert upload.content == compiled_pipeline.read_bytes()
    (request,) = [
        r for r in fake_kfp.requests if r.method == "POST" and r.path.endswith("/recurringruns")
    ]
    assert request.body["runtime_config"]["parameters"]["seed"] == 3
    assert fake_kfp.runs == {}  # scheduling starts no run itself


def test_paused_catchup_and_window_reach_the_recurring_run(
    fake_kfp: FakeKfp, compiled_pipeline: Path
):
    result = schedule(
        fake_kfp,
        compiled_pipeline,
        "--paused",
        "--catchup",
        "--max-concurrency",
        "2",
        "--start-time",
        "2026-02-01T00:00:00Z",
        "--end-time",
        "2026-12-31T00:00:00+00:00",
        cron="@daily",
    )

    assert result.exit_code == 0, result.output
    (recurring,) = fake_kfp.recurring_runs.values()
    assert recurring.mode == "DISABLE" and recurring.status == "DISABLED"
    assert recurring.no_catchup is False
    assert recurring.max_concurrency == "2"
    cron = recurring.trigger.cron_schedule
    assert cron.cron == "@daily"
    assert cron.start_time.isoformat() == "2026-02-01T00:00:00+00:00"
    assert recurring.display_name == "tabular-classification-schedule"


def test_the_same_name_twice_is_refused_unless_replaced(fake_kfp: FakeKfp, compiled_pipeline: Path):
    first = json.loads(schedule(fake_kfp, compiled_pipeline).stdout)
    again = schedule(fake_kfp, compiled_pipeline)

    assert again.exit_code == 1
    assert "already has a recurring run named 'tabular-classification-schedule'" in again.stderr
    assert "--replace" in again.stderr
    assert list(fake_kfp.recurring_runs) == [first["recurring_run_id"]]

    replaced = schedule(fake_kfp, compiled_pipeline, "--replace")
    assert replaced.exit_code == 0, replaced.output
    summary = json.loads(replaced.stdout)
    assert summary["replaced"] == [first["recurring_run_id"]]
    assert list(fake_kfp.recurring_runs) == [summary["recurring_run_id"]]


@pytest.mark.parametrize(
    ("extra", "cron", "message"),
    [
        ((), "0 2 * * *", "use '0 0 2 * * *'"),
        ((), "every night", "is not 6 fields"),
        (("--start-time", "tomorrow"), "0 0 2 * * *", "start time 'tomorrow' is not an RFC 3339"),
        (("--end-time", "2026-01-01T00:00:00"), "0 0 2 * * *", "with a zone"),
    ],
    ids=["five-fields", "words", "bad-start", "no-zone"],
)
def test_bad_schedules_are_usage_errors_before_any_request(
    fake_kfp: FakeKfp, compiled_pipeline: Path, extra: tuple, cron: str, message: str
):
    result = schedule(fake_kfp, compiled_pipeline, *extra, cron=cron)

    assert result.exit_code == 2
    assert message in result.stderr
    assert fake_kfp.requests == []


def test_text_output_names_the_schedule(fake_kfp: FakeKfp, compiled_pipeline: Path):
    arguments = ["schedule", str(compiled_pipeline), "--endpoint", fake_kfp.url]
    arguments += ["--cron", "0 30 1 * * *", "--name", "nightly-drift"]
    for param in REQUIRED:
        arguments += ["--param", param]
    result = CliRunner().invoke(main, arguments)

    assert result.exit_code == 0, result.output
    (recurring_id,) = fake_kfp.recurring_runs
    assert result.stdout.startswith(
        f"recurring run nightly-drift ({recurring_id}): '0 30 1 * * *', enabled, experiment "
        "kfp-mlops"
    )


def test_a_failed_replace_keeps_the_old_schedule(
    fake_kfp: FakeKfp, compiled_pipeline: Path, monkeypatch: pytest.MonkeyPatch
):
    first = json.loads(schedule(fake_kfp, compiled_pipeline).stdout)

    def refuse(**_: object) -> object:
        raise ApiError(500, 13, "boom")

    monkeypatch.setattr(fake_kfp, "_create_recurring_run", refuse)
    result = schedule(fake_kfp, compiled_pipeline, "--replace")

    assert result.exit_code == 4  # a system failed (compile/exits.py)
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert "creating recurring run 'tabular-classification-schedule' failed" in line
    assert "HTTP 500" in line and "boom" in line
    assert list(fake_kfp.recurring_runs) == [first["recurring_run_id"]]


def test_a_replace_that_cannot_delete_the_old_schedule_names_both(
    fake_kfp: FakeKfp, compiled_pipeline: Path, monkeypatch: pytest.MonkeyPatch
):
    first = json.loads(schedule(fake_kfp, compiled_pipeline).stdout)

    def refuse(**_: object) -> object:
        raise ApiError(503, 14, "unavailable")

    monkeypatch.setattr(fake_kfp, "_delete_recurring_run", refuse)
    result = schedule(fake_kfp, compiled_pipeline, "--replace")

    assert result.exit_code == 4
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    (new,) = set(fake_kfp.recurring_runs) - {first["recurring_run_id"]}
    assert f"created recurring run {new}" in line
    assert f"{first['recurring_run_id']} is still scheduled" in line
    assert "HTTP 503" in line and "--replace" in line
    assert set(fake_kfp.recurring_runs) == {first["recurring_run_id"], new}

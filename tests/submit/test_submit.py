"""``kfp-mlops submit`` against the fake Kubeflow Pipelines API: upload, typed run, --wait."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.fake_kfp import ApiError, FakeKfp, RunScript

from kfp_mlops.compile.cli import main

REQUIRED = (
    "data_uri=s3://bucket/data.csv",
    "target_column=target",
    "mlflow_tracking_uri=http://mlflow:5000",
)
APPROVED = RunScript(skip=("record-rejection",))
REJECTED = RunScript(skip=("register-model-with-card", "serve-check"))
FAILED = RunScript(fail_at="train-sklearn")
REASON = (
    " (Kubeflow Pipelines reports no reason through its API: the step's log in the run's page, "
    "or kubectl logs of its pod, says why)"
)


def submit(fake: FakeKfp, source: str | Path, *extra: str, params=REQUIRED, env=None):
    arguments = ["submit", str(source), "--endpoint", fake.url, "--poll-seconds", "0"]
    for param in params:
        arguments += ["--param", param]
    return CliRunner().invoke(main, [*arguments, *extra], env=env, catch_exceptions=False)


def test_uploads_the_compiled_file_byte_for_byte(fake_kfp: FakeKfp, compiled_pipeline: Path):
    result = submit(fake_kfp, compiled_pipeline, "--json")

    assert result.exit_code == 0, result.output
    (upload,) = fake_kfp.uploads
    assert upload.path == "upload"
    assert upload.content == compiled_pipeline.read_bytes()
    assert upload.query["name"] == "tabular-classification"
    summary = json.loads(result.stdout)
    assert summary["upload"] == "created pipeline"
    (run,) = fake_kfp.runs.values()
    assert run.run_id == summary["run_id"]
    assert run.pipeline_version_reference.pipeline_version_id == summary["version_id"]
    assert fake_kfp.experiments[run.experiment_id].display_name == "kfp-mlops"
    assert "state" not in summary  # without --wait nothing is known of the run's end


def test_parameters_arrive_typed(fake_kfp: FakeKfp, compiled_pipeline: Path):
    params = (
        *REQUIRED,
        "seed=7",
        "max_missing_rate=0.1",
        'thresholds={"accuracy": 0.95, "f1": 0.9}',
        'hyperparameters={"n_estimators": 50}',
    )
    result = submit(fake_kfp, compiled_pipeline, "--run-name", "typed", params=params)

    assert result.exit_code == 0, result.output
    (request,) = [r for r in fake_kfp.requests if r.method == "POST" and r.path.endswith("/runs")]
    sent = request.body["runtime_config"]["parameters"]
    assert sent == {
        "data_uri": "s3://bucket/data.csv",
        "target_column": "target",
        "mlflow_tracking_uri": "http://mlflow:5000",
        "seed": 7,
        "max_missing_rate": 0.1,
        "thresholds": {"accuracy": 0.95, "f1": 0.9},
        "hyperparameters": {"n_estimators": 50},
    }
    assert type(sent["seed"]) is int and type(sent["max_missing_rate"]) is float
    assert request.body["display_name"] == "typed"


def test_wait_reports_each_task_state_and_succeeds(fake_kfp: FakeKfp, compiled_pipeline: Path):
    fake_kfp.script = APPROVED
    result = submit(fake_kfp, compiled_pipeline, "--wait", "--json")

    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.stderr.splitlines() if line.startswith("  ")]
    assert ["RUNNING", "train-sklearn"] in lines
    assert lines.index(["RUNNING", "train-sklearn"]) < lines.index(["SUCCEEDED", "train-sklearn"])
    assert lines.index(["SUCCEEDED", "train-sklearn"]) < lines.index(
        ["RUNNING", "register-model-with-card"]
    )
    assert lines[-1] == ["SUCCEEDED", "run"]
    summary = json.loads(result.stdout)
    assert summary["state"] == "SUCCEEDED" and summary["outcome"] == "succeeded"
    states = {task["name"]: task["state"] for task in summary["tasks"]}
    assert states["serve-check"] == "SUCCEEDED" and "record-rejection" not in states


def test_gate_rejection_exits_3(fake_kfp: FakeKfp, compiled_pipeline: Path):
    fake_kfp.script = REJECTED
    result = submit(fake_kfp, compiled_pipeline, "--wait")

    assert result.exit_code == 3, result.output
    assert "SUCCEEDED  record-rejection" in result.stderr
    assert "gate REJECTED the model" in result.stdout


def test_failed_run_exits_1_with_the_task_error(fake_kfp: FakeKfp, compiled_pipeline: Path):
    fake_kfp.script = FAILED
    result = submit(fake_kfp, compiled_pipeline, "--wait", "--json")

    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert summary["state"] == "FAILED" and summary["outcome"] == "failed"
    # As the backend reports it: the step and every group above it FAILED, no error texts.
    failed = [task for task in summary["tasks"] if task["state"] == "FAILED"]
    (root,) = [
        task["name"] for task in failed if task["name"].startswith("tabular-classification-")
    ]
    assert {task["name"] for task in failed} == {"train-sklearn", root}
    assert all(task["error"] is None for task in summary["tasks"])
    assert summary["error"] == "step train-sklearn failed" + REASON
    assert "\n" not in summary["error"]
    assert "evaluate-classifier" not in {task["name"] for task in summary["tasks"]}
    assert "FAILED     train-sklearn" in result.stderr


def test_failed_run_text_output_names_the_failed_task(fake_kfp: FakeKfp, compiled_pipeline: Path):
    fake_kfp.script = FAILED
    result = submit(fake_kfp, compiled_pipeline, "--wait")

    assert result.exit_code == 1
    assert "outcome: FAILED" in result.stdout
    assert "  error: step train-sklearn failed" + REASON in result.stdout.splitlines()


def test_wait_timeout_exits_1(fake_kfp: FakeKfp, compiled_pipeline: Path):
    result = submit(fake_kfp, compiled_pipeline, "--wait", "--timeout", "0.001", "--json")

    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["timed_out"] is True and summary["state"] == "RUNNING"


def test_wait_has_a_default_deadline(fake_kfp: FakeKfp, compiled_pipeline: Path, monkeypatch):
    from kfp_mlops.compile.commands import submit as command

    assert command.wait_deadline(None) == command.DEFAULT_WAIT_SECONDS == 21600
    assert command.wait_deadline(0) is None
    monkeypatch.setattr(command, "DEFAULT_WAIT_SECONDS", 0.001)
    result = submit(fake_kfp, compiled_pipeline, "--wait", "--json")

    assert result.exit_code == 1
    assert json.loads(result.stdout)["timed_out"] is True


def test_same_file_reuses_its_version_and_a_changed_one_uploads_a_new_version(
    fake_kfp: FakeKfp, compiled_pipeline: Path, tmp_path: Path
):
    changed = tmp_path / "changed.yaml"
    changed.write_bytes(compiled_pipeline.read_bytes().replace(b"0.1.0", b"0.1.1"))

    outcomes = []
    for source in (compiled_pipeline, compiled_pipeline, changed, changed):
        result = submit(fake_kfp, source, "--json")
        assert result.exit_code == 0, result.output
        outcomes.append(json.loads(result.stdout))

    assert [summary["upload"] for summary in outcomes] == [
        "created pipeline",
        "uploaded version",
        "uploaded version",
        "reused version",
    ]
    assert len({summary["pipeline_id"] for summary in outcomes}) == 1
    assert outcomes[2]["version_name"].startswith("sha256-")
    assert outcomes[3]["version_id"] == outcomes[2]["version_id"]
    assert [upload.content for upload in fake_kfp.uploads] == [
        compiled_pipeline.read_bytes(),
        compiled_pipeline.read_bytes(),
        changed.read_bytes(),
    ]
    assert fake_kfp.uploads[2].path == "upload_version"
    assert fake_kfp.uploads[2].query["name"] == outcomes[2]["version_name"]


def test_an_explicit_version_name_that_is_taken_is_refused(
    fake_kfp: FakeKfp, compiled_pipeline: Path
):
    assert submit(fake_kfp, compiled_pipeline, "--version-name", "v1").exit_code == 0
    assert submit(fake_kfp, compiled_pipeline, "--version-name", "v1").exit_code == 0
    result = submit(fake_kfp, compiled_pipeline, "--version-name", "v1")

    assert result.exit_code == 1
    assert "already has a version named 'v1'" in result.stderr
    assert fake_kfp.url in result.stderr


def test_a_library_pipeline_name_is_compiled_and_uploaded(
    fake_kfp: FakeKfp, compiled_pipeline: Path
):
    result = submit(fake_kfp, "tabular-classification", "--image-tag", "9.9.9")

    assert result.exit_code == 0, result.output
    (upload,) = fake_kfp.uploads
    expected = compiled_pipeline.read_bytes().replace(b"kfp-mlops:0.1.0\n", b"kfp-mlops:9.9.9\n")
    assert upload.content == expected


def test_token_from_the_environment_is_sent_and_never_printed(
    fake_kfp: FakeKfp, compiled_pipeline: Path
):
    fake_kfp.reset(token="s3cret-token")
    result = submit(fake_kfp, compiled_pipeline, env={"KF_PIPELINES_TOKEN": "s3cret-token"})

    assert result.exit_code == 0, result.output
    assert {r.headers["authorization"] for r in fake_kfp.requests} == {"Bearer s3cret-token"}
    assert "s3cret-token" not in result.output


def test_token_file_is_read(fake_kfp: FakeKfp, compiled_pipeline: Path, tmp_path: Path):
    fake_kfp.reset(token="from-a-file")
    token_file = tmp_path / "token"
    token_file.write_text("from-a-file\n")
    result = submit(fake_kfp, compiled_pipeline, "--token-file", str(token_file))

    assert result.exit_code == 0, result.output
    assert {r.headers["authorization"] for r in fake_kfp.requests} == {"Bearer from-a-file"}


def test_a_refused_token_fails_at_once_naming_the_endpoint(
    fake_kfp: FakeKfp, compiled_pipeline: Path
):
    fake_kfp.reset(token="right")
    result = submit(fake_kfp, compiled_pipeline, env={"KF_PIPELINES_TOKEN": "wrong"})

    assert result.exit_code == 4  # a system failed (compile/exits.py)
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: connecting failed at {fake_kfp.url}: HTTP 401")
    assert "KF_PIPELINES_TOKEN" in line and "wrong" not in line
    assert len(fake_kfp.requests) == 1  # the health check, not retried


def test_an_unreachable_endpoint_is_named(fake_kfp: FakeKfp, compiled_pipeline: Path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    result = CliRunner().invoke(
        main,
        ["submit", str(compiled_pipeline), "--endpoint", closed]
        + [part for param in REQUIRED for part in ("--param", param)],
    )

    assert result.exit_code == 4  # a system failed (compile/exits.py)
    (line,) = result.stderr.strip().splitlines()
    assert f"cannot reach Kubeflow Pipelines at {closed}" in line
    assert "Connection refused" in line


def test_no_endpoint_and_no_cluster_config_is_explained(fake_kfp: FakeKfp, compiled_pipeline: Path):
    result = CliRunner().invoke(
        main,
        ["submit", str(compiled_pipeline)]
        + [part for param in REQUIRED for part in ("--param", param)],
    )

    assert result.exit_code == 1
    assert "no Kubeflow Pipelines endpoint: pass --endpoint or set KF_PIPELINES_ENDPOINT" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (("data_uri=x", "target_column=y"), "needs mlflow_tracking_uri=..."),
        ((*REQUIRED, "seed=seven"), "parameter seed='seven' is not an integer"),
        ((*REQUIRED, "colour=red"), "unknown parameter 'colour'"),
    ],
    ids=["missing", "mistyped", "unknown"],
)
def test_bad_parameters_are_usage_errors_before_any_request(
    fake_kfp: FakeKfp, compiled_pipeline: Path, params: tuple, message: str
):
    result = submit(fake_kfp, compiled_pipeline, params=params)

    assert result.exit_code == 2
    assert message in result.stderr
    assert fake_kfp.requests == []


def test_an_unknown_pipeline_is_a_usage_error(fake_kfp: FakeKfp, tmp_path: Path):
    not_a_pipeline = tmp_path / "notes.yaml"
    not_a_pipeline.write_text("just: [text\n")
    for source, message in (
        ("no-such-pipeline", "neither a file nor a pipeline of this library"),
        (not_a_pipeline, "is not a compiled pipeline"),
    ):
        result = submit(fake_kfp, source, params=())
        assert result.exit_code == 2
        assert message in result.stderr
    assert fake_kfp.requests == []


def test_namespace_goes_to_the_upload_and_the_experiment(
    fake_kfp: FakeKfp, compiled_pipeline: Path
):
    result = submit(fake_kfp, compiled_pipeline, "--namespace", "team-a", "--experiment", "ci")

    assert result.exit_code == 0, result.output
    (upload,) = fake_kfp.uploads
    assert upload.query["namespace"] == "team-a"
    (experiment,) = fake_kfp.experiments.values()
    assert (experiment.display_name, experiment.namespace) == ("ci", "team-a")


def _caching_by_task(content: bytes) -> dict[str, bool]:
    """Every task of every DAG of a compiled file: its path to whether it may be cached."""
    import yaml
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    spec = json_format.ParseDict(
        next(yaml.safe_load_all(content)), pipeline_spec_pb2.PipelineSpec()
    )
    found = {}

    def walk(prefix: str, dag) -> None:
        for name, task in dag.tasks.items():
            component = spec.components[task.component_ref.name]
            if component.HasField("dag"):
                walk(f"{prefix}{name}/", component.dag)
            else:
                found[prefix + name] = task.caching_options.enable_cache

    walk("", spec.root.dag)
    return found


def test_no_cache_uploads_a_version_with_every_task_uncached(
    fake_kfp: FakeKfp, compiled_pipeline: Path
):
    assert submit(fake_kfp, compiled_pipeline).exit_code == 0
    result = submit(fake_kfp, compiled_pipeline, "--no-cache", "--json")

    assert result.exit_code == 0, result.output
    cached, uncached = fake_kfp.uploads
    as_compiled = _caching_by_task(cached.content)
    assert as_compiled["ingest-dataset"] and as_compiled["train-sklearn"]
    without = _caching_by_task(uncached.content)
    assert set(without) == set(as_compiled)  # the same tasks, nested ones included
    assert not any(without.values())
    summary = json.loads(result.stdout)
    assert summary["upload"] != "created pipeline"  # a new version of the same pipeline
    run = fake_kfp.runs[summary["run_id"]]
    assert run.pipeline_version_reference.pipeline_version_id == summary["version_id"]


def _failing_reads(fake: FakeKfp, monkeypatch: pytest.MonkeyPatch, failures: set[int], error):
    """Makes the fake's reads of a run number ``failures`` (1-based) answer ``error``."""
    original = fake._get_run
    reads = iter(range(1, 10_000))

    def get_run(**kwargs: object) -> object:
        if next(reads) in failures:
            raise error
        return original(**kwargs)

    monkeypatch.setattr(fake, "_get_run", get_run)


def test_a_transient_error_while_waiting_is_retried(
    fake_kfp: FakeKfp, compiled_pipeline: Path, monkeypatch: pytest.MonkeyPatch
):
    fake_kfp.script = APPROVED
    _failing_reads(fake_kfp, monkeypatch, {2}, ApiError(503, 14, "unavailable"))

    result = submit(fake_kfp, compiled_pipeline, "--wait")

    assert result.exit_code == 0, result.output
    assert "outcome: SUCCEEDED" in result.stdout
    (run_id,) = fake_kfp.runs
    assert f"reading run {run_id} failed at {fake_kfp.url}: HTTP 503" in result.stderr
    assert "retrying" in result.stderr


def test_an_endpoint_failing_until_the_deadline_names_the_run_that_may_still_run(
    fake_kfp: FakeKfp, compiled_pipeline: Path, monkeypatch: pytest.MonkeyPatch
):
    _failing_reads(fake_kfp, monkeypatch, set(range(2, 10_000)), ApiError(502, 14, "bad gateway"))

    result = submit(fake_kfp, compiled_pipeline, "--wait", "--timeout", "0.5")

    assert result.exit_code == 4  # a system failed (compile/exits.py)
    (run_id,) = fake_kfp.runs
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert f"reading run {run_id} failed at {fake_kfp.url}: HTTP 502" in line
    assert f"run {run_id} may still be running" in line
    assert fake_kfp.runs[run_id].state == "RUNNING"  # the run itself went on

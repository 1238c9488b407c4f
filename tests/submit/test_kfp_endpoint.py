"""The endpoint logic without the CLI: outcomes, cron checks, following a run, the fake's rules."""

import json
import urllib.error
import urllib.request

import pytest
import urllib3.exceptions
from support.fake_kfp import ApiError, FakeKfp, RunScript, unknown_fields

from kfp_mlops.compile import kfp_endpoint
from kfp_mlops.compile.kfp_endpoint import FinishedRun, TaskState


def finished(state: str, *tasks: tuple[str, str], timed_out: bool = False) -> FinishedRun:
    return FinishedRun(
        "run-1",
        state,
        [
            TaskState(f"t{index}", name, task_state)
            for index, (name, task_state) in enumerate(tasks)
        ],
        None,
        timed_out,
    )


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (finished("SUCCEEDED", ("train", "SUCCEEDED"), ("serve-check", "SUCCEEDED")), "succeeded"),
        (finished("SUCCEEDED", ("record-rejection", "SUCCEEDED")), "rejected"),
        (finished("SUCCEEDED", ("record-rejection-2", "SUCCEEDED")), "rejected"),
        (finished("SUCCEEDED", ("record-rejection", "SKIPPED")), "succeeded"),
        (finished("SUCCEEDED", ("record-rejections", "SUCCEEDED")), "succeeded"),
        (finished("FAILED", ("record-rejection", "SUCCEEDED")), "failed"),
        (finished("CANCELED"), "failed"),
        (finished("RUNNING", timed_out=True), "failed"),
    ],
    ids=[
        "succeeded",
        "rejected",
        "rejected-numbered",
        "rejection-skipped",
        "other-name",
        "failed-after-rejection",
        "canceled",
        "timed-out",
    ],
)
def test_outcome(run: FinishedRun, expected: str):
    assert kfp_endpoint.outcome(run) == expected


def test_rejection_task_names_are_configurable():
    run = finished("SUCCEEDED", ("keep-champion", "SUCCEEDED"))
    assert kfp_endpoint.outcome(run) == "succeeded"
    assert kfp_endpoint.outcome(run, ("record-rejection", "keep-champion")) == "rejected"


@pytest.mark.parametrize("cron", ["0 0 2 * * *", "0 */15 * * * 1-5", "@daily", "@every 6h"])
def test_six_field_crons_and_descriptors_pass(cron: str):
    assert kfp_endpoint.check_cron(f"  {cron} ") == cron


def test_follow_run_reports_changes_and_stops_at_a_final_state(fake_kfp: FakeKfp, tmp_path):
    endpoint = kfp_endpoint.Endpoint(host=fake_kfp.url)
    client = kfp_endpoint.connect(endpoint, environ={})
    fake_kfp.script = RunScript(skip=())
    experiment = client.create_experiment("e")
    package = _tiny_pipeline(tmp_path / "tiny.yaml")
    run = client.run_pipeline(experiment.experiment_id, "r", pipeline_package_path=package)
    changes: list[tuple[str, str]] = []
    sleeps: list[float] = []

    result = kfp_endpoint.follow_run(
        client,
        endpoint,
        run.run_id,
        on_change=lambda *change: changes.append(change),
        poll_seconds=7.0,
        sleep=sleeps.append,
    )

    assert result.state == "SUCCEEDED" and not result.timed_out
    # The workflow's root DAG node comes first; the driver nodes are not reported (they did not
    # fail), though the backend lists them.
    root = "tiny-" + run.run_id[-4:]
    assert changes == [
        (root, "RUNNING"),
        ("run", "RUNNING"),
        ("first", "RUNNING"),
        ("first", "SUCCEEDED"),
        ("second", "RUNNING"),
        ("second", "SUCCEEDED"),
        (root, "SUCCEEDED"),
        ("run", "SUCCEEDED"),
    ]
    assert sleeps == [7.0] * 4
    assert [task.name for task in result.tasks] == [
        "first-driver",
        root,
        "first",
        "second-driver",
        "second",
    ]


def _tiny_pipeline(path) -> str:
    from kfp import compiler, dsl

    @dsl.component(base_image="python:3.11-slim")
    def step(text: str) -> str:
        return text

    @dsl.pipeline(name="tiny")
    def tiny() -> None:
        first = step(text="a").set_display_name("first")
        step(text=first.output).set_display_name("second")

    compiler.Compiler().compile(tiny, str(path))
    return str(path)


def test_the_fake_refuses_fields_the_api_models_lack(fake_kfp: FakeKfp):
    body = json.dumps({"display_name": "e", "colour": "red"}).encode()
    request = urllib.request.Request(
        f"{fake_kfp.url}/apis/v2beta1/experiments",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request)

    assert raised.value.code == 400
    answer = json.loads(raised.value.read())
    assert answer == {"code": 3, "message": "unknown field(s) in V2beta1Experiment: colour"}


def test_unknown_fields_are_found_in_nested_models():
    run = {
        "display_name": "r",
        "runtime_config": {"parameters": {"anything": {"goes": 1}}, "root": "x"},
        "run_details": {"task_details": [{"display_name": "t", "colour": "red"}]},
    }
    assert unknown_fields(run, "V2beta1Run") == [
        "runtime_config.root",
        "run_details.task_details[0].colour",
    ]


def test_failure_reason_names_the_innermost_failed_node():
    tasks = [
        kfp_endpoint.TaskState("r", "pipe-0001", "FAILED", children=("g", "a")),
        kfp_endpoint.TaskState("a", "ingest", "SUCCEEDED"),
        kfp_endpoint.TaskState("g", "gate-approved", "FAILED", children=("d", "s")),
        kfp_endpoint.TaskState("d", "serve-check-driver", "SUCCEEDED"),
        kfp_endpoint.TaskState("s", "serve-check", "FAILED"),
    ]
    assert kfp_endpoint.failure_reason(tasks).startswith("step serve-check failed (")
    driver = [*tasks[:3], kfp_endpoint.TaskState("d", "serve-check-driver", "FAILED")]
    assert kfp_endpoint.failure_reason(driver).startswith(
        "step serve-check did not start: its driver failed ("
    )
    assert kfp_endpoint.failure_reason(tasks[1:2]) is None


@pytest.mark.parametrize(
    "error",
    [
        ApiError(429, 8, "too many requests"),
        ApiError(500, 13, "internal"),
        ApiError(504, 4, "deadline exceeded"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
    ids=["429", "500", "504", "connection-reset"],
)
def test_follow_run_retries_transient_failures_with_back_off(
    fake_kfp: FakeKfp, tmp_path, monkeypatch: pytest.MonkeyPatch, error: Exception
):
    endpoint = kfp_endpoint.Endpoint(host=fake_kfp.url)
    client = kfp_endpoint.connect(endpoint, environ={})
    fake_kfp.script = RunScript(skip=())
    experiment = client.create_experiment("e")
    package = _tiny_pipeline(tmp_path / "tiny.yaml")
    run = client.run_pipeline(experiment.experiment_id, "r", pipeline_package_path=package)
    if isinstance(error, ApiError):  # the endpoint answers with the error
        original, reads = fake_kfp._get_run, iter(range(1, 100))

        def answer(**kwargs: object) -> object:
            if next(reads) in (2, 3, 4):
                raise error
            return original(**kwargs)

        monkeypatch.setattr(fake_kfp, "_get_run", answer)
    else:  # the connection drops: what urllib3 raises under the kfp client
        real_get_run, calls = client.get_run, iter(range(1, 100))

        def dropped(run_id: str) -> object:
            if next(calls) in (2, 3, 4):
                raise urllib3.exceptions.ProtocolError("Connection aborted.", error)
            return real_get_run(run_id)

        monkeypatch.setattr(client, "get_run", dropped)
    sleeps: list[float] = []

    result = kfp_endpoint.follow_run(
        client, endpoint, run.run_id, poll_seconds=7.0, sleep=sleeps.append
    )

    assert result.state == "SUCCEEDED" and not result.timed_out
    assert sleeps[:4] == [7.0, 1.0, 2.0, 4.0]  # a poll, then three retries backing off
    assert sleeps[4:] == [7.0] * 3


def test_follow_run_does_not_retry_a_refused_request(
    fake_kfp: FakeKfp, monkeypatch: pytest.MonkeyPatch
):
    endpoint = kfp_endpoint.Endpoint(host=fake_kfp.url)
    client = kfp_endpoint.connect(endpoint, environ={})
    sleeps: list[float] = []

    with pytest.raises(kfp_endpoint.EndpointError, match="HTTP 404"):
        kfp_endpoint.follow_run(client, endpoint, "run-none", sleep=sleeps.append)
    assert sleeps == []

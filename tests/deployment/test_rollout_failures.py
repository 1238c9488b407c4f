"""A rollout meeting a failing API server: transient errors retried, anything else after the canary
patch rolled back, and the message keeping the first reason with the rollback's outcome.

The failures are the fake API server's (:class:`deployment.fake_kube_api.Fault`): a status answered
instead of the request, or the connection closed without an answer.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from deployment.fake_kube_api import Fault, wait_until

from kfp_mlops.components.common import kube_api
from kfp_mlops.components.common.errors import ComponentInputError, ExternalSystemError
from kfp_mlops.components.common.kube_api import InferenceServices, connect
from kfp_mlops.components.deployment import kserve_manifest as km
from kfp_mlops.components.deployment.rollout import Rollout, traffic

NAME = "breast-cancer"
NAMESPACE = "models"
WHERE = f"{NAMESPACE}/{NAME}"
FIRST = f"{NAME}-predictor-00001"


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    monkeypatch.setattr(kube_api, "BACKOFF", 0.01)


def manifest(model: str) -> dict:
    return km.manifest(
        km.ServiceSpec(
            name=NAME,
            namespace=NAMESPACE,
            storage_uri=f"s3://bucket/{model}",
            serving_format=km.MODEL_FORMATS["sklearn"],
            resources=km.Resources({"cpu": "1", "memory": "2Gi"}),
        )
    )


def rollout(model: str, timeout: float = 5.0) -> Rollout:
    services = InferenceServices(connect(), NAMESPACE)
    return Rollout(services, manifest(model), lambda url: None, timeout=timeout, log=lambda _: None)


def serving(kube) -> dict[str, int]:
    """Percent of traffic by revision, and the predictor's storageUri and canary setting."""
    service = kube.stored(NAMESPACE, NAME)
    shares = {item["revisionName"]: item["percent"] for item in traffic(service) if item["percent"]}
    predictor = service["spec"]["predictor"]
    return {
        "storage": predictor["model"]["storageUri"],
        "canary": predictor.get("canaryTrafficPercent"),
        "traffic": shares,
    }


@pytest.mark.parametrize(
    "fault",
    [
        Fault("watch", 500, times=2),
        Fault("watch", "reset", times=2),
        Fault("list", 503, times=2),
        Fault("get", "reset", times=1),
        Fault("patch", 429, times=1),
        Fault("patch", "reset", times=1, skip=1),  # the promotion
    ],
    ids=lambda fault: f"{fault.verb}-{fault.answer}",
)
def test_transient_failures_are_retried(kube, fault):
    kube.put(manifest("m1"))
    kube.faults.append(fault)

    result = rollout("m2").run()

    assert fault.times == 0  # every injected failure was met
    assert result.action == "canary-promoted"
    assert serving(kube) == {
        "storage": "s3://bucket/m2",
        "canary": None,
        "traffic": {f"{NAME}-predictor-00002": 100},
    }


def test_a_watch_failing_for_good_rolls_the_canary_back(kube):
    kube.put(manifest("m1"))
    kube.behaviour.ready_after = 3.0  # the watch fails for good before the new revision is ready
    kube.faults.append(Fault("watch", 500, times=kube_api.RETRIES + 1))

    with pytest.raises(ExternalSystemError) as raised:  # the cluster failed
        rollout("m2").run()

    assert str(raised.value) == (
        f"rollout of {WHERE} failed: the Kubernetes API answered 500 to watch "
        f"inferenceservices.serving.kserve.io '{NAME}' in namespace '{NAMESPACE}': "
        f"injected failure: InternalError; rolled back: 100% of traffic on "
        f"revision {FIRST}"
    )
    assert serving(kube) == {"storage": "s3://bucket/m1", "canary": 0, "traffic": {FIRST: 100}}


def test_a_connection_lost_for_good_rolls_the_canary_back(kube):
    kube.put(manifest("m1"))
    kube.behaviour.ready_after = 3.0  # the watch fails for good before the new revision is ready
    # urllib3 itself tries a request whose connection broke 3 more times (Retry.DEFAULT).
    kube.faults.append(Fault("watch", "reset", times=4 * (kube_api.RETRIES + 1)))

    with pytest.raises(ExternalSystemError) as raised:  # the cluster failed
        rollout("m2").run()

    message = str(raised.value)
    assert message.startswith(
        f"rollout of {WHERE} failed: cannot reach the Kubernetes API at {kube.url} to watch "
        "inferenceservices.serving.kserve.io: "
    )
    assert message.endswith(f"; rolled back: 100% of traffic on revision {FIRST}")
    assert "\n" not in message
    assert serving(kube) == {"storage": "s3://bucket/m1", "canary": 0, "traffic": {FIRST: 100}}


def test_a_failed_promotion_rolls_the_canary_back(kube):
    kube.put(manifest("m1"))
    kube.faults.append(Fault("patch", 503, times=kube_api.RETRIES + 1, skip=1))

    with pytest.raises(ExternalSystemError) as raised:  # the cluster failed
        rollout("m2").run()

    assert str(raised.value) == (
        f"rollout of {WHERE} failed: the Kubernetes API answered 503 to patch "
        f"inferenceservices.serving.kserve.io '{NAME}' in namespace '{NAMESPACE}': injected "
        f"failure: ServiceUnavailable; rolled back: 100% of traffic on revision {FIRST}"
    )
    assert serving(kube)["storage"] == "s3://bucket/m1"
    assert serving(kube)["traffic"] == {FIRST: 100}


def test_a_404_on_reading_the_service_again_ends_in_one_line(kube):
    kube.put(manifest("m1"))
    kube.behaviour.never_ready.add("s3://bucket/m2")
    kube.faults.append(Fault("get", 404, times=1, skip=1))  # the rollback's read

    with pytest.raises(ComponentInputError) as raised:
        rollout("m2", timeout=1).run()

    message = str(raised.value)
    assert message.startswith(
        f"rollout of {WHERE} failed: the new revision was not ready after 1 s; last status: "
        "Ready=Unknown (RevisionMissing"
    )
    assert message.endswith(
        "; nothing to roll back: the InferenceService no longer exists (404 on reading it again)"
    )


def test_a_failed_rollback_keeps_the_reason_and_adds_its_own(kube):
    kube.put(manifest("m1"))
    kube.behaviour.never_ready.add("s3://bucket/m2")
    kube.faults.append(Fault("patch", 500, times=kube_api.RETRIES + 1, skip=1))

    with pytest.raises(ComponentInputError) as raised:
        rollout("m2", timeout=1).run()

    message = str(raised.value)
    assert message.startswith(
        f"rollout of {WHERE} failed: the new revision was not ready after 1 s; last status: "
    )
    assert message.endswith(
        f"; the rollback failed too: the Kubernetes API answered 500 to patch "
        f"inferenceservices.serving.kserve.io '{NAME}' in namespace '{NAMESPACE}': injected "
        f"failure: InternalError; restore the predictor by hand (kubectl edit inferenceservice "
        f"{NAME} -n {NAMESPACE})"
    )
    assert serving(kube)["canary"] == 10  # left as it was: the message says to restore by hand


def test_a_step_stopped_during_the_canary_rolls_it_back(kube):
    """SystemExit (what SIGTERM becomes) while the canary is checked: traffic goes back first."""
    kube.put(manifest("m1"))

    def stopped(url: str) -> None:
        raise SystemExit(128 + signal.SIGTERM)

    services = InferenceServices(connect(), NAMESPACE)
    stopping = Rollout(services, manifest("m2"), stopped, timeout=5, log=lambda _: None)

    with pytest.raises(SystemExit) as raised:
        stopping.run()

    assert raised.value.code == 143
    assert serving(kube) == {"storage": "s3://bucket/m1", "canary": 0, "traffic": {FIRST: 100}}


STOPPED_STEP = """
import pathlib, sys, time
from kfp_mlops.components.common.kube_api import InferenceServices, connect
from kfp_mlops.components.deployment.rollout import Rollout

def smoke(url):
    pathlib.Path(sys.argv[2]).write_text(url)
    time.sleep(60)

manifest = __import__("json").loads(sys.argv[1])
Rollout(InferenceServices(connect(), "models"), manifest, smoke, timeout=30).run()
"""


@pytest.mark.slow
def test_a_step_sent_sigterm_during_the_canary_rolls_it_back_before_it_exits(kube, tmp_path):
    """A real SIGTERM to the deploying process (a cancelled run, activeDeadlineSeconds)."""
    import json

    kube.put(manifest("m1"))
    checking = tmp_path / "checking"
    step = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(STOPPED_STEP), json.dumps(manifest("m2")), checking],
        env={**os.environ, "KUBECONFIG": os.environ["KUBECONFIG"]},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_until(checking.exists, timeout=60), "the canary was never checked"
        assert serving(kube)["canary"] == 10
        step.send_signal(signal.SIGTERM)
        started = time.monotonic()
        output, _ = step.communicate(timeout=60)
    finally:
        if step.poll() is None:
            step.kill()
    assert step.returncode == 128 + signal.SIGTERM, output
    assert time.monotonic() - started < 30  # within Kubernetes' default grace period
    assert serving(kube) == {"storage": "s3://bucket/m1", "canary": 0, "traffic": {FIRST: 100}}
    assert f"rolled back: 100% of traffic on revision {FIRST}" in output


def test_backoff_is_bounded_and_honours_a_shorter_retry_after(monkeypatch):
    monkeypatch.setattr(kube_api, "BACKOFF", 0.5)
    error = kube_api.ApiException(status=429)
    assert [kube_api.backoff(attempt, error) for attempt in range(6)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        8.0,
    ]
    error.headers = {"Retry-After": "1"}
    assert [kube_api.backoff(attempt, error) for attempt in range(3)] == [0.5, 1.0, 1.0]
    assert kube_api.is_transient(kube_api.ApiException(status=503))
    assert not kube_api.is_transient(kube_api.ApiException(status=403))
    assert not kube_api.is_transient(kube_api.ApiException(status=409))

"""Create, patch, canary, promote and roll back InferenceServices against the fake API server.

The smoke request here is a recorder (or a failure on demand); test_deploy.py sends real ones.
"""

import time

import pytest
from deployment import crd
from deployment.fake_kube_api import USER

from kfp_mlops.components.common.errors import ComponentInputError, ExternalSystemError
from kfp_mlops.components.common.kube_api import InferenceServices, connect
from kfp_mlops.components.deployment import kserve_manifest as km
from kfp_mlops.components.deployment.rollout import (
    Rollout,
    merge_patch,
    predictor_patch,
    traffic,
)

NAME = "breast-cancer"
NAMESPACE = "models"


def manifest(model: str = "m1", **overrides: object) -> dict:
    serving_format = km.MODEL_FORMATS["sklearn"]
    values = {
        "name": NAME,
        "namespace": NAMESPACE,
        "storage_uri": f"s3://bucket/{model}",
        "serving_format": serving_format,
        "resources": km.Resources({"cpu": "1", "memory": "2Gi"}),
    }
    values.update(overrides)
    return km.manifest(km.ServiceSpec(**values))


class Smoke:
    """Records each smoke request; fails those whose URL is in ``failing``."""

    def __init__(self, kube=None) -> None:
        self.urls: list[str] = []
        self.failing: set[str] = set()
        self.kube = kube
        self.traffic_seen: list[list[dict]] = []

    def __call__(self, url: str) -> None:
        self.urls.append(url)
        if self.kube is not None:
            self.traffic_seen.append(traffic(self.kube.stored(NAMESPACE, NAME)))
        if url in self.failing:
            raise ComponentInputError(f"POST {url}/v1/models/{NAME}:predict failed: HTTP 500")


def rollout(kube, smoke, model: str = "m1", timeout: float = 5.0, **options) -> Rollout:
    services = InferenceServices(connect(), NAMESPACE)
    return Rollout(
        services, manifest(model), smoke, timeout=timeout, log=lambda line: None, **options
    )


def live(kube) -> dict:
    return kube.stored(NAMESPACE, NAME)


def storage(kube) -> str:
    return live(kube)["spec"]["predictor"]["model"]["storageUri"]


def percent_by_revision(kube) -> dict[str, int]:
    result: dict[str, int] = {}
    for item in traffic(live(kube)):
        result[item["revisionName"]] = result.get(item["revisionName"], 0) + item["percent"]
    return {name: percent for name, percent in result.items() if percent}


def test_absent_service_is_created_and_checked(kube):
    smoke = Smoke()

    result = rollout(kube, smoke).run()

    assert result.action == "created"
    assert result.revision == f"{NAME}-predictor-00001"
    assert result.previous_revision is None
    assert result.url == f"http://{NAME}.{NAMESPACE}.example.com"
    assert [(item["revisionName"], item["percent"]) for item in result.traffic] == [
        (f"{NAME}-predictor-00001", 100)
    ]
    assert smoke.urls == [f"http://latest-{NAME}-predictor.{NAMESPACE}.example.com"]
    assert [method for method, _, _ in kube.requests][:2] == ["GET", "POST"]
    # What the fake stored, status included, is what the CRD allows.
    assert crd.errors(live(kube)) == []


def test_ready_service_gets_a_canary_then_is_promoted(kube):
    kube.put(manifest("m1"))
    smoke = Smoke(kube)

    result = rollout(kube, smoke, "m2").run()

    assert result.action == "canary-promoted"
    assert result.previous_revision == f"{NAME}-predictor-00001"
    assert result.revision == f"{NAME}-predictor-00002"
    # While the smoke request ran, the new revision had 10 %, the old one 90 %.
    (seen,) = smoke.traffic_seen
    assert {(item["revisionName"], item["percent"]) for item in seen} == {
        (f"{NAME}-predictor-00002", 10),
        (f"{NAME}-predictor-00001", 90),
    }
    # The smoke request went to the new revision's own (latest tag) URL.
    assert smoke.urls == [f"http://latest-{NAME}-predictor.{NAMESPACE}.example.com"]
    canary, promotion = kube.patches
    assert canary["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert canary["spec"]["predictor"]["model"] == {"storageUri": "s3://bucket/m2"}
    assert canary["metadata"]["resourceVersion"]
    assert promotion["spec"] == {"predictor": {"canaryTrafficPercent": None}}
    assert percent_by_revision(kube) == {f"{NAME}-predictor-00002": 100}
    assert "canaryTrafficPercent" not in live(kube)["spec"]["predictor"]
    status = live(kube)["status"]["components"]["predictor"]
    assert status["latestRolledoutRevision"] == f"{NAME}-predictor-00002"
    assert status["previousRolledoutRevision"] == f"{NAME}-predictor-00001"
    assert crd.errors(live(kube)) == []


def test_canary_of_100_patches_directly(kube):
    kube.put(manifest("m1"))

    result = rollout(kube, Smoke(), "m2", canary_traffic_percent=100).run()

    assert result.action == "patched"
    (patch,) = kube.patches
    assert "canaryTrafficPercent" not in patch["spec"]["predictor"]
    assert percent_by_revision(kube) == {f"{NAME}-predictor-00002": 100}


def test_revision_that_never_becomes_ready_is_rolled_back(kube):
    kube.put(manifest("m1"))
    kube.behaviour.never_ready.add("s3://bucket/m2")
    started = time.monotonic()

    with pytest.raises(ComponentInputError) as raised:
        rollout(kube, Smoke(), "m2", timeout=1.5).run()

    message = str(raised.value)
    assert "\n" not in message
    assert "the new revision was not ready after 1.5 s" in message
    assert "Ready=Unknown (RevisionMissing" in message
    assert f"rolled back: 100% of traffic on revision {NAME}-predictor-00001" in message
    assert time.monotonic() - started < 10
    assert storage(kube) == "s3://bucket/m1"
    assert live(kube)["spec"]["predictor"]["canaryTrafficPercent"] == 0
    assert percent_by_revision(kube) == {f"{NAME}-predictor-00001": 100}


def test_failed_revision_fails_fast_with_the_controllers_reason(kube):
    kube.put(manifest("m1"))
    kube.behaviour.failing.add("s3://bucket/m2")
    started = time.monotonic()

    with pytest.raises(ComponentInputError, match="PredictorReady is False: RevisionFailed"):
        rollout(kube, Smoke(), "m2", timeout=60).run()

    assert time.monotonic() - started < 10  # not the 60 s timeout
    assert storage(kube) == "s3://bucket/m1"


def test_model_that_fails_to_load_is_rolled_back(kube):
    kube.put(manifest("m1"))
    kube.behaviour.load_failing.add("s3://bucket/m2")

    with pytest.raises(ComponentInputError, match="the model failed to load: ModelLoadFailed"):
        rollout(kube, Smoke(), "m2").run()

    assert storage(kube) == "s3://bucket/m1"


def test_failed_smoke_request_rolls_the_ready_canary_back(kube):
    kube.put(manifest("m1"))
    smoke = Smoke()
    smoke.failing.add(f"http://latest-{NAME}-predictor.{NAMESPACE}.example.com")

    with pytest.raises(ComponentInputError) as raised:
        rollout(kube, smoke, "m2").run()

    message = str(raised.value)
    assert "the smoke request failed: POST" in message and "HTTP 500" in message
    assert f"rolled back: 100% of traffic on revision {NAME}-predictor-00001" in message
    assert storage(kube) == "s3://bucket/m1"
    assert percent_by_revision(kube) == {f"{NAME}-predictor-00001": 100}


def test_the_next_rollout_after_a_rollback_canaries_against_the_good_revision(kube):
    kube.put(manifest("m1"))
    kube.behaviour.never_ready.add("s3://bucket/bad")
    with pytest.raises(ComponentInputError):
        rollout(kube, Smoke(), "bad", timeout=1).run()
    smoke = Smoke(kube)

    result = rollout(kube, smoke, "m3").run()

    assert result.action == "canary-promoted"
    (seen,) = smoke.traffic_seen
    percents = {item["revisionName"]: item["percent"] for item in seen if item["percent"]}
    assert percents == {result.revision: 10, f"{NAME}-predictor-00001": 90}
    assert percent_by_revision(kube) == {result.revision: 100}
    assert storage(kube) == "s3://bucket/m3"


def test_unchanged_predictor_is_only_checked(kube):
    kube.put(manifest("m1"))
    smoke = Smoke()

    result = rollout(kube, smoke, "m1").run()

    assert result.action == "unchanged"
    assert kube.patches == []
    assert smoke.urls == [f"http://latest-{NAME}-predictor.{NAMESPACE}.example.com"]


def test_service_that_is_not_ready_is_patched_without_a_canary(kube):
    kube.behaviour.never_ready.add("s3://bucket/m1")
    kube.put(manifest("m1"))

    result = rollout(kube, Smoke(), "m2").run()

    assert result.action == "patched"
    assert "canaryTrafficPercent" not in kube.patches[0]["spec"]["predictor"]


def test_created_service_that_never_becomes_ready_is_left_for_inspection(kube):
    kube.behaviour.never_ready.add("s3://bucket/m1")

    with pytest.raises(ComponentInputError) as raised:
        rollout(kube, Smoke(), "m1", timeout=1).run()

    assert "was created but the new revision was not ready after 1 s" in str(raised.value)
    assert "left for inspection (kubectl describe inferenceservice" in str(raised.value)
    assert live(kube) is not None


@pytest.mark.parametrize(
    ("missing", "setup"),
    [
        ("create", lambda kube: None),
        ("patch", lambda kube: kube.put(manifest("m1"))),
        ("get", lambda kube: None),
        ("watch", lambda kube: None),
        ("list", lambda kube: None),
    ],
)
def test_403_names_the_missing_permission(kube, missing, setup):
    setup(kube)
    kube.allowed.discard(missing)

    with pytest.raises(ExternalSystemError) as raised:
        rollout(kube, Smoke(), "m2").run()

    message = str(raised.value)
    assert message.startswith(
        f"missing permission: {missing} inferenceservices.serving.kserve.io in namespace "
        f"'{NAMESPACE}' (403 Forbidden"
    )
    assert f'User "{USER}" cannot {missing} resource "inferenceservices"' in message
    assert "manifests/rbac.yaml" in message
    assert "\n" not in message


def test_conflicting_writes_are_retried_on_a_fresh_read(kube):
    kube.put(manifest("m1"))
    kube.conflict_next_patches = 2

    result = rollout(kube, Smoke(), "m2").run()

    assert result.action == "canary-promoted"
    versions = [int(patch["metadata"]["resourceVersion"]) for patch in kube.patches]
    # Two refused patches, the canary, the promotion; a status update racing the promotion under
    # load adds one more retry. Each retry carries the newer version it read.
    assert len(versions) >= 4
    assert versions == sorted(set(versions))
    assert storage(kube) == "s3://bucket/m2"


def test_endless_conflicts_fail_with_one_line(kube):
    kube.put(manifest("m1"))
    kube.conflict_next_patches = 100

    with pytest.raises(ComponentInputError, match=r"kept changing while being patched \(409"):
        rollout(kube, Smoke(), "m2").run()

    assert storage(kube) == "s3://bucket/m1"


def test_conflict_on_create_switches_to_the_update(kube):
    class RacingServices(InferenceServices):
        raced = False

        def get(self, name):
            if not self.raced:  # another client creates it between our read and our create
                self.raced = True
                kube.put(manifest("m0"))
                return None
            return super().get(name)

    services = RacingServices(connect(), NAMESPACE)

    result = Rollout(services, manifest("m1"), Smoke(), timeout=5, log=lambda line: None).run()

    assert result.action == "canary-promoted"
    assert [method for method, _, _ in kube.requests][:2] == ["POST", "GET"]
    assert storage(kube) == "s3://bucket/m1"


def test_expired_watch_is_listed_again(kube):
    kube.expire_next_watches = 1

    result = rollout(kube, Smoke()).run()

    assert result.action == "created"
    lists = [path for method, path, _ in kube.requests if "fieldSelector" in path]
    assert sum("watch=" not in path for path in lists) >= 2  # the first list, then the re-list


def test_invalid_manifest_is_refused_by_the_schema_with_422(kube):
    bad = manifest("m1")
    bad["spec"]["predictor"]["model"]["protocolVersion"] = 2
    services = InferenceServices(connect(), NAMESPACE)

    with pytest.raises(ComponentInputError) as raised:
        Rollout(services, bad, Smoke(), log=lambda line: None).run()

    assert "refused to create inferenceservices.serving.kserve.io 'breast-cancer' (422" in str(
        raised.value
    )
    assert "spec.predictor.model.protocolVersion: 2 is not of type 'string'" in str(raised.value)


def test_wrong_credentials_are_a_401(kube, tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig(tmp_path / "other", token="stolen")))

    with pytest.raises(ExternalSystemError, match=r"refused the credentials \(401 Unauthorized\)"):
        rollout(kube, Smoke()).run()


def test_cluster_without_kserve_says_so(kube):
    kube.crd_installed = False

    with pytest.raises(ExternalSystemError, match="KServe is not installed"):
        rollout(kube, Smoke()).run()


def test_no_kubernetes_configuration_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))

    with pytest.raises(ComponentInputError, match="no Kubernetes configuration: not running in a"):
        connect()


def test_namespace_defaults_to_the_kubeconfig_context(kube):
    assert connect().default_namespace == "models"


def test_merge_patch_and_predictor_patch():
    live_predictor = {
        "minReplicas": 1,
        "serviceAccountName": "old-sa",
        "containerConcurrency": 4,  # set by someone else: left alone
        "model": {
            "storageUri": "s3://b/m1",
            "resources": {"limits": {"cpu": "1", "nvidia.com/gpu": "1"}},
        },
    }
    wanted = {
        "minReplicas": 2,
        "model": {"storageUri": "s3://b/m2", "resources": {"limits": {"cpu": "1"}}},
    }

    patch = predictor_patch(live_predictor, wanted)

    assert patch == {
        "minReplicas": 2,
        "serviceAccountName": None,
        "model": {"storageUri": "s3://b/m2", "resources": {"limits": {"nvidia.com/gpu": None}}},
    }
    assert merge_patch({"a": 1, "b": {"c": 2}}, {"b": {"c": 3}}) == {"a": None, "b": {"c": 3}}


# ----- the stale-status window: the controller observes a write only after it ----------------


def test_stale_failure_of_the_previous_generation_is_not_this_rollouts(kube):
    # Revision 1 failed: Ready=False for generation 1. Right after the patch (generation 2) the
    # status is still generation 1's; only observedGeneration tells that it is not the verdict on
    # the new revision.
    kube.behaviour.failing.add("s3://bucket/m1")
    kube.put(manifest("m1"))
    kube.behaviour.reconcile_after = 0.5

    result = rollout(kube, Smoke(), "m2").run()

    assert result.action == "patched"
    assert result.revision == f"{NAME}-predictor-00002"
    assert percent_by_revision(kube) == {f"{NAME}-predictor-00002": 100}


def test_older_revision_becoming_ready_in_the_stale_window_is_not_taken_for_the_new_one(kube):
    # Another client's revision 2 (m2) is still starting when this rollout patches m3. Revision 2
    # becomes ready while the controller has not yet observed generation 3: the status then shows
    # a ready latest revision that is not the one read before, under observedGeneration 2.
    endpoints = {f"s3://bucket/{model}": f"http://{model}.test" for model in ("m1", "m2", "m3")}
    kube.behaviour.endpoints.update(endpoints)
    kube.put(manifest("m1"))
    kube.behaviour.ready_after = 0.6
    kube.behaviour.reconcile_after = 0.0
    other = live(kube)
    kube.patch(
        NAMESPACE,
        NAME,
        {
            "spec": {
                "predictor": {
                    "model": {**other["spec"]["predictor"]["model"], "storageUri": "s3://bucket/m2"}
                }
            }
        },
    )
    assert wait_until_status(
        kube, lambda item: item["latestCreatedRevision"] == f"{NAME}-predictor-00002"
    )
    kube.behaviour.reconcile_after = 1.2  # revision 2 gets ready inside this rollout's window
    kube.behaviour.ready_after = 0.1
    smoke = Smoke()

    result = rollout(kube, smoke, "m3").run()

    assert smoke.urls == ["http://m3.test"]
    assert result.revision == f"{NAME}-predictor-00003"
    assert percent_by_revision(kube) == {f"{NAME}-predictor-00003": 100}


def wait_until_status(kube, predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        predictor = live(kube).get("status", {}).get("components", {}).get("predictor", {})
        if predictor and predicate(predictor):
            return True
        time.sleep(0.02)
    return False


def test_write_answers_with_the_status_before_it(kube):
    kube.put(manifest("m1"))
    kube.behaviour.reconcile_after = 0.3
    services = InferenceServices(connect(), NAMESPACE)
    before = services.get(NAME)

    patched = services.patch(
        NAME, {"spec": {"predictor": {"model": {"storageUri": "s3://bucket/m2"}}}}
    )

    assert patched["metadata"]["generation"] == 2
    assert patched["status"] == before["status"]  # Ready=True, observedGeneration 1
    assert patched["status"]["observedGeneration"] == 1
    service, done = services.wait_for(
        NAME, lambda item: item["status"]["observedGeneration"] == 2, 5
    )
    assert done
    assert service["status"]["components"]["predictor"]["latestCreatedRevision"] == (
        f"{NAME}-predictor-00002"
    )


@pytest.mark.parametrize("own_check", ["passes", "fails"])
def test_a_rollout_changed_by_another_during_its_canary_leaves_the_others_change(kube, own_check):
    """Rollout B runs to the end while rollout A checks its canary: A stops, B's model stays.

    Whether A then finds the change when it promotes (its check passed) or rolls back (its
    check failed), it must not put its old predictor back over B's.
    """
    kube.put(manifest("m1"))
    other = rollout(kube, Smoke(), "m3")
    results = []

    def smoke_while_another_deploys(url: str) -> None:
        results.append(other.run())
        if own_check == "fails":
            raise ComponentInputError(f"POST {url}/v1/models/{NAME}:predict failed: HTTP 500")

    with pytest.raises(ComponentInputError, match="another client") as stopped:
        rollout(kube, smoke_while_another_deploys, "m2").run()

    assert "\n" not in str(stopped.value)
    (other_result,) = results
    assert other_result.action == "canary-promoted"
    assert storage(kube) == "s3://bucket/m3"
    assert "canaryTrafficPercent" not in live(kube)["spec"]["predictor"]
    assert percent_by_revision(kube) == {other_result.revision: 100}

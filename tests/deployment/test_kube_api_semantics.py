"""The API server's refusals and watch semantics, as the library's client meets them.

The fake (fake_kube_api.py) answers as the Kubernetes API server does; these tests pin the parts a
rollout depends on: permissions granted per namespace, identity fields a patch cannot change, and
what a watch returns from a given resourceVersion.
"""

import json
import urllib.request

import pytest
from deployment.fake_kube_api import PLURAL, PREFIX, TOKEN, USER

from kfp_mlops.components.common.errors import ComponentInputError, ExternalSystemError
from kfp_mlops.components.common.kube_api import InferenceServices, connect
from kfp_mlops.components.deployment import kserve_manifest as km

NAME = "breast-cancer"


def manifest(model: str, namespace: str = "models") -> dict:
    return km.manifest(
        km.ServiceSpec(
            name=NAME,
            namespace=namespace,
            storage_uri=f"s3://bucket/{model}",
            serving_format=km.MODEL_FORMATS["sklearn"],
            resources=km.Resources({"cpu": "1", "memory": "2Gi"}),
        )
    )


def test_a_role_in_one_namespace_grants_nothing_in_another(kube):
    kube.put(manifest("m1", namespace="staging"))
    services = InferenceServices(connect(), "staging")

    with pytest.raises(ExternalSystemError) as raised:
        services.get(NAME)

    assert str(raised.value).startswith(
        "missing permission: get inferenceservices.serving.kserve.io in namespace 'staging' "
        "(403 Forbidden"
    )
    assert f'User "{USER}" cannot get resource "inferenceservices"' in str(raised.value)
    assert 'in the namespace "staging"' in str(raised.value)
    # The same verbs in the namespace the Role is bound in are granted.
    assert InferenceServices(connect(), "models").get(NAME) is None


def test_a_patch_cannot_rename_the_object(kube):
    kube.put(manifest("m1"))
    services = InferenceServices(connect(), "models")

    with pytest.raises(ComponentInputError) as raised:
        services.patch(NAME, {"metadata": {"name": "other"}})

    assert str(raised.value) == (
        f"the API server refused to patch inferenceservices.serving.kserve.io '{NAME}' (400 Bad "
        f"Request): the name of the object (other) does not match the name on the URL ({NAME})"
    )
    assert kube.stored("models", NAME) is not None
    assert kube.stored("models", "other") is None


def test_a_patch_cannot_change_the_uid(kube):
    kube.put(manifest("m1"))
    services = InferenceServices(connect(), "models")

    with pytest.raises(ComponentInputError, match=r"422 Invalid\).*metadata.uid: .*immutable"):
        services.patch(NAME, {"metadata": {"uid": "0000"}})


def watch(kube, version: str, timeout: int = 1) -> list[dict]:
    query = f"watch=true&timeoutSeconds={timeout}&fieldSelector=metadata.name={NAME}"
    if version:
        query += f"&resourceVersion={version}"
    request = urllib.request.Request(
        f"{kube.url}{PREFIX}models/{PLURAL}?{query}",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return [json.loads(line) for line in response.read().splitlines() if line.strip()]


def test_watch_from_zero_is_the_current_state_not_the_history(kube):
    first = kube.put(manifest("m1"))
    kube.behaviour.reconcile_after = 60  # no controller writes during this test
    for replicas in (2, 3):
        kube.patch("models", NAME, {"spec": {"predictor": {"minReplicas": replicas}}})
    now = kube.stored("models", NAME)

    events = watch(kube, "0")

    assert [(item["type"], item["object"]["metadata"]["resourceVersion"]) for item in events][
        :1
    ] == [("ADDED", now["metadata"]["resourceVersion"])]
    assert events[0]["object"]["spec"]["predictor"]["minReplicas"] == 3
    # From a version, only what came after it.
    later = watch(kube, first["metadata"]["resourceVersion"])
    assert later and all(item["type"] == "MODIFIED" for item in later)
    assert all(
        int(item["object"]["metadata"]["resourceVersion"])
        > int(first["metadata"]["resourceVersion"])
        for item in later
    )


def test_watch_from_before_a_compaction_is_410_expired(kube):
    old = kube.put(manifest("m1"))["metadata"]["resourceVersion"]
    kube.patch("models", NAME, {"spec": {"predictor": {"minReplicas": 2}}})
    kube.compact()

    (event,) = watch(kube, old)

    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"

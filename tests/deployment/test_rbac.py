"""manifests/rbac.yaml grants exactly the verbs the deployment uses, on InferenceServices only.

The rollout tests (test_rollout.py) run with exactly these verbs allowed by the fake API server,
and fail naming the verb when any one of them is taken away.
"""

from pathlib import Path

import yaml
from deployment.fake_kube_api import VERBS

from kfp_mlops.components.common.kube_api import RBAC_MANIFEST

ROOT = Path(__file__).resolve().parents[2]


def documents() -> dict[str, dict]:
    loaded = yaml.safe_load_all((ROOT / RBAC_MANIFEST).read_text(encoding="utf-8"))
    return {document["kind"]: document for document in loaded}


def test_role_allows_exactly_the_verbs_used_on_inferenceservices_only():
    role = documents()["Role"]
    (rule,) = role["rules"]
    assert rule["apiGroups"] == ["serving.kserve.io"]
    assert rule["resources"] == ["inferenceservices"]
    assert set(rule["verbs"]) == VERBS == {"get", "list", "watch", "create", "patch"}
    assert "namespace" not in role["metadata"]  # namespaced by `kubectl apply -n`


def test_binding_grants_the_role_to_the_pipeline_service_account():
    found = documents()
    binding = found["RoleBinding"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": found["Role"]["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "pipeline-runner", "namespace": "kubeflow"}
    ]
    assert set(found) == {"Role", "RoleBinding"}  # no ClusterRole: one namespace only

"""``deploy_to_cluster=true`` succeeding through a run of tabular-classification: kfp.local runs
the pipeline, the deployment step talks to the fake Kubernetes API server (fake_kube_api.py)
through a kubeconfig, and its smoke request reaches a real KServe model server serving the model
the run just trained.

A cluster fetches a model from its artifact's URI, so the run's artifacts need ``s3://`` URIs,
which ``kfp.local`` never gives (kfp 2.17.0 ``kfp/local/executor_input_utils.py``
``artifact_type_schema_to_artifact_list`` makes an output's URI its local path). On a cluster the
KFP launcher reads and writes an ``s3://BUCKET/KEY`` artifact at the local path ``/s3/BUCKET/KEY``
(kubeflow/pipelines 2.17.0 ``backend/src/v2/component/launcher_v2.go``, ``LocalPathForURI``; the
SDK's ``Artifact.path`` gives the same, kfp 2.17.0 ``kfp/dsl/types/artifact_types.py``,
``_S3_LOCAL_MOUNT_PREFIX``). This test does the same: the pipeline root is a folder under ``/s3/``,
and each output artifact is given the ``s3://`` URI of its path there. The fake's revision for a
storage URI under that bucket answers from a model server started on the files at that path.
"""

import contextlib
import shutil
import uuid
from pathlib import Path

import pytest
from deployment import crd
from deployment.test_rollout import manifest
from kfp.local import executor_input_utils

from kfp_mlops.compile import local_run, summary
from kfp_mlops.components.deployment.rollout import traffic
from kfp_mlops.components.serving.local_server import running_model_server
from kfp_mlops.pipelines import PIPELINES

pytestmark = pytest.mark.slow

SERVICE = "tabular-classifier"
NAMESPACE = "models"  # the fake kubeconfig context's namespace
MOUNT = Path("/s3")


class ServedFromTheBucket(dict):
    """Storage URI to model server URL; a URI under ``bucket`` gets a KServe model server started
    on the files at its ``/s3/`` path the first time the fake asks."""

    def __init__(self, bucket: str, stack: contextlib.ExitStack) -> None:
        super().__init__()
        self.bucket, self.stack = bucket, stack

    def __contains__(self, uri: object) -> bool:
        prefix = f"s3://{self.bucket}/"
        if isinstance(uri, str) and uri.startswith(prefix) and not super().__contains__(uri):
            folder = MOUNT / uri[len("s3://") :]
            if (folder / "model.joblib").is_file():
                server = self.stack.enter_context(running_model_server(folder, model_name=SERVICE))
                self[uri] = server.url
        return super().__contains__(uri)


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch):
    """A fresh folder /s3/BUCKET, and output artifacts under it given their s3:// URIs."""
    name = f"kfp-mlops-test-{uuid.uuid4().hex[:12]}"
    try:
        (MOUNT / name).mkdir(parents=True)
    except PermissionError:
        pytest.skip("needs to create /s3/ (the KFP launcher's local path of s3:// artifacts)")
    original = executor_input_utils.artifact_type_schema_to_artifact_list

    def with_s3_uris(**arguments: object):
        artifacts = original(**arguments)
        for artifact in artifacts.artifacts:
            if artifact.uri.startswith(f"{MOUNT}/"):
                artifact.uri = "s3://" + artifact.uri[len(f"{MOUNT}/") :]
        return artifacts

    monkeypatch.setattr(executor_input_utils, "artifact_type_schema_to_artifact_list", with_s3_uris)
    yield name
    shutil.rmtree(MOUNT / name, ignore_errors=True)
    with contextlib.suppress(OSError):
        MOUNT.rmdir()  # only if no other run uses it


def test_deploy_to_cluster_rolls_the_trained_model_out_as_a_canary_then_promotes_it(
    kube, bucket, breast_cancer_csv, tmp_path
):
    # A Ready InferenceService already serves an older model: the new one comes in as a canary.
    kube.put(manifest("old", name=SERVICE))
    with contextlib.ExitStack() as servers:
        kube.behaviour.endpoints = ServedFromTheBucket(bucket, servers)
        store = f"sqlite:///{tmp_path / 'mlflow.db'}"
        run = local_run.run_locally(
            PIPELINES["tabular-classification"],
            {
                "data_uri": str(breast_cancer_csv),
                "target_column": "target",
                "mlflow_tracking_uri": store,
                "estimator": "logistic_regression",
                "deploy_to_cluster": True,
                "service_name": SERVICE,
                "canary_traffic_percent": 25,
            },
            MOUNT / bucket / "run",
        )
        result = summary.summarize(run)

    assert result["status"] == "succeeded", result["error"]
    steps = {step["name"]: step["status"] for step in result["steps"]}
    assert steps["check-champion"] == steps["deploy-inference-service"] == "succeeded"
    assert steps["promote-champion"] == "succeeded"  # the cluster branch's promotion
    assert result["registry"]["model_version"] == "1"
    assert "champion_version" not in result["registry"]  # the registration step did not promote

    (model_dir,) = (MOUNT / bucket / "run" / "outputs").glob("*/train-sklearn/model")
    model_uri = "s3://" + str(model_dir.relative_to(MOUNT))
    # The canary: the trained model's URI at the pipeline's 25 %, then promoted to 100 %.
    canary, promotion = kube.patches
    assert canary["spec"]["predictor"]["canaryTrafficPercent"] == 25
    assert canary["spec"]["predictor"]["model"] == {"storageUri": model_uri}
    assert promotion["spec"] == {"predictor": {"canaryTrafficPercent": None}}
    live = kube.stored(NAMESPACE, SERVICE)
    assert live["spec"]["predictor"]["model"]["modelFormat"] == {"name": "sklearn", "version": "1"}
    assert live["spec"]["predictor"]["model"]["storageUri"] == model_uri
    assert "canaryTrafficPercent" not in live["spec"]["predictor"]
    assert [(item["revisionName"], item["percent"]) for item in traffic(live)] == [
        (f"{SERVICE}-predictor-00002", 100)
    ]
    assert crd.errors(live) == []

    # The run's outputs: the deployment step's, as the promotion and the summary read them.
    deployed = run.outputs["deploy-inference-service"]
    assert deployed["parameterValues"] == {
        "action": "canary-promoted",
        "revision": f"{SERVICE}-predictor-00002",
        "url": f"http://{SERVICE}.{NAMESPACE}.example.com",
    }
    (service,) = deployed["artifacts"]["inference_service"]["artifacts"]
    assert service["metadata"]["storage_uri"] == model_uri
    assert service["metadata"]["previous_revision"] == f"{SERVICE}-predictor-00001"

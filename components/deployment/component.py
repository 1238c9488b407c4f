"""Deployment component: roll a Model out to a KServe InferenceService on a cluster."""

from typing import Dict, NamedTuple, Optional

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Model, Output

from kfp_mlops.components.images import CPU_IMAGE


@dsl.component(base_image=CPU_IMAGE, install_kfp_package=False)
def deploy_inference_service(
    model: Input[Model],
    test: Input[Dataset],
    service_name: str,
    inference_service: Output[Artifact],
    namespace: Optional[str] = None,
    model_format: str = "sklearn",
    canary_traffic_percent: int = 10,
    min_replicas: int = 1,
    max_replicas: int = 1,
    requests: Dict[str, str] = {"cpu": "1", "memory": "2Gi"},  # noqa: B006 (KFP default)
    limits: Optional[Dict[str, str]] = None,
    gpu_count: int = 0,
    gpu_resource: str = "nvidia.com/gpu",
    service_account: Optional[str] = None,
    runtime: Optional[str] = None,
    storage_uri: Optional[str] = None,
    ready_timeout_seconds: int = 600,
    smoke_rows: int = 5,
) -> NamedTuple("Outputs", [("url", str), ("revision", str), ("action", str)]):
    """Deploys the model to a KServe InferenceService with a canary, a smoke request and rollback.

    The manifest (serving.kserve.io/v1beta1, Serverless mode) is built from the kserve SDK's
    classes. No InferenceService yet: it is created. One that is Ready: the new predictor gets
    canary_traffic_percent of the traffic; once its revision is Ready and answers the smoke
    request (test rows, compared with the deployed files' own predictions computed in the step;
    for a PyTorch Model the predicted classes, and the class probabilities within 0.01, of its
    ONNX file in ONNX Runtime; for a regressor (task regression in its metadata) served as onnx
    the export's predictions within 1e-3 relative) it is promoted to 100 %. If it is not Ready
    within ready_timeout_seconds, fails, or answers wrongly, the predictor is rolled back (all
    traffic on the last rolled-out revision) and the step fails saying why. Kubernetes
    credentials come from the pod's service account (grant it manifests/rbac.yaml) or a
    kubeconfig, never from parameters; a missing permission fails naming the verb.

    Args:
        model: A Model directory from train_sklearn (model.joblib, and onnx/ for the ONNX format)
            or train_pytorch (a Triton model repository holding the ONNX export as "model"); its
            URI (s3://, gs://, minio:// or pvc://) is what the cluster fetches. Its framework
            metadata (sklearn, pytorch) decides the formats it can be served as.
        test: Test rows (Parquet) with the model's feature columns; the first complete ones make
            the smoke request.
        service_name: The InferenceService's name (lowercase letters, digits, '-').
        namespace: Its namespace; by default the pod's own (or the kubeconfig context's). Empty
            means the default.
        model_format: For an sklearn Model "sklearn" (kserve-sklearnserver, V1) or "onnx"
            (kserve-tritonserver, V2, the export in the Model's onnx/ folder); for a PyTorch Model
            only "onnx" (kserve-tritonserver, V2, the Model directory itself). Another format
            fails naming the ones the Model has.
        canary_traffic_percent: Share of traffic (1-100) the new revision gets while it is
            checked; 100 rolls out without a canary phase.
        min_replicas: Fewest predictor replicas (0 lets Knative scale to zero).
        max_replicas: Most predictor replicas.
        requests: The predictor container's resource requests, e.g. {"cpu": "1", "memory": "2Gi"}.
        limits: Its limits; the requests when unset.
        gpu_count: Accelerators per replica, requested as gpu_resource (0 for none).
        gpu_resource: The accelerator's extended resource name.
        service_account: The predictor's service account (it carries the storage credentials);
            empty for the namespace default.
        runtime: A ServingRuntime/ClusterServingRuntime name; empty lets KServe choose the stock
            runtime for the format.
        storage_uri: Where the cluster fetches the model instead of the artifact's URI (used as
            given: for ONNX, the Triton repository folder: an sklearn Model's onnx/ folder, a
            PyTorch Model's directory).
        ready_timeout_seconds: Seconds the new revision may take to become Ready (and the
            promotion to take effect) before it is rolled back.
        smoke_rows: How many test rows the smoke request carries.

    Returns:
        inference_service: The deployed InferenceService (a system.Artifact: KFP 2.17 accepts
            only system.* and google.* schema titles): name, namespace, url, revision,
            previous_revision, traffic, action, storage_uri, model_format in its metadata; its
            file holds the same as JSON, with the manifest applied.
        url: The service's URL.
        revision: The revision now serving 100 % of the traffic.
        action: created, canary-promoted, patched or unchanged.
    """
    from collections import namedtuple

    from kfp_mlops.components.deployment.deploy import deploy_model

    description = deploy_model(
        model_dir=model.path,
        model_uri=model.uri,
        model_metadata=model.metadata,
        test_path=test.path,
        service_name=service_name,
        output_path=inference_service.path,
        namespace=namespace or None,
        model_format=model_format,
        storage_uri=storage_uri or None,
        canary_traffic_percent=canary_traffic_percent,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        requests=requests,
        limits=limits or None,
        gpu_count=gpu_count,
        gpu_resource=gpu_resource,
        service_account=service_account or None,
        runtime=runtime or None,
        ready_timeout_seconds=ready_timeout_seconds,
        smoke_row_count=smoke_rows,
    )
    inference_service.metadata.update(description)
    outputs = namedtuple("Outputs", ["url", "revision", "action"])
    return outputs(description["url"], description["revision"], description["action"])

"""The deployment step: put a Model artifact behind a KServe InferenceService, safely.

It builds the manifest (:mod:`.kserve_manifest`), prepares the smoke request from the test split
(:mod:`.smoke`), rolls it out through the Kubernetes API (:mod:`.rollout`, :mod:`.kube_api`) and
writes a JSON description of the deployed service, atomically, only when the rollout succeeded.
"""

import json
from collections.abc import Mapping

from kfp_mlops.components.common.atomic import write_text
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.kube_api import InferenceServices, connect
from kfp_mlops.components.deployment import kserve_manifest
from kfp_mlops.components.deployment.rollout import Rollout
from kfp_mlops.components.deployment.smoke import smoke_request, smoke_rows

DEFAULT_REQUESTS = {"cpu": "1", "memory": "2Gi"}
"""The stock KServe runtimes' own requests (and limits)."""


def deploy_model(
    model_dir: str,
    model_uri: str,
    model_metadata: Mapping[str, object],
    test_path: str,
    service_name: str,
    output_path: str,
    namespace: str | None = None,
    model_format: str = "sklearn",
    storage_uri: str | None = None,
    canary_traffic_percent: int = 10,
    min_replicas: int = 1,
    max_replicas: int = 1,
    requests: Mapping[str, str] | None = None,
    limits: Mapping[str, str] | None = None,
    gpu_count: int = 0,
    gpu_resource: str = "nvidia.com/gpu",
    service_account: str | None = None,
    runtime: str | None = None,
    ready_timeout_seconds: float = 600.0,
    smoke_row_count: int = 5,
) -> dict[str, object]:
    """Creates or updates the InferenceService ``service_name`` to serve the Model.

    Args:
        model_dir: The Model artifact's local directory: from train_sklearn (model.joblib,
            onnx/) or train_pytorch (a Triton repository: model/1/model.onnx, the manifest).
        model_uri: The Model artifact's URI (s3://, gs://, minio://): what the cluster fetches.
        model_metadata: The Model's metadata (framework, feature_columns, onnx...); its
            ``framework`` (sklearn, pytorch) decides the formats it can be served as.
        test_path: Parquet test rows; the first complete ones make the smoke request.
        service_name: The InferenceService's name.
        output_path: Where the description of the deployed service is written (JSON).
        namespace: The namespace; None for the pod's own (in a cluster) or the kubeconfig
            context's.
        model_format: ``sklearn`` or ``onnx`` for an sklearn Model, ``onnx`` for a PyTorch
            Model (see ``kserve_manifest.MODEL_FORMATS`` and ``FORMATS_BY_FRAMEWORK``).
        storage_uri: Where the cluster fetches the model instead of the artifact's URI (the
            format's folder is not added).
        canary_traffic_percent: The new revision's share of traffic while it is checked.
        min_replicas: Fewest predictor replicas (0 allows scaling to zero).
        max_replicas: Most predictor replicas.
        requests: Container resource requests; default :data:`DEFAULT_REQUESTS`.
        limits: Container limits; the requests when None.
        gpu_count: Accelerators per replica.
        gpu_resource: The accelerator's extended resource name.
        service_account: The predictor's service account (storage credentials).
        runtime: A ServingRuntime name; None lets KServe pick the stock one for the format.
        ready_timeout_seconds: Seconds each phase may take before the rollout is rolled back.
        smoke_row_count: Test rows in the smoke request.

    Returns:
        The description written to ``output_path``, less the manifest.

    Raises:
        ComponentInputError: Bad input (a format the Model's framework does not provide, the
            message names those it does), no Kubernetes configuration, a missing permission, or
            a failed rollout (after rolling back, which the message reports).
    """
    framework = str(model_metadata.get("framework", ""))
    serving_format, subpath = kserve_manifest.model_format(model_format, framework)
    feature_columns = model_metadata.get("feature_columns")
    if not isinstance(feature_columns, list) or not feature_columns:
        raise ComponentInputError("the Model's metadata has no feature_columns list")
    if storage_uri:
        uri = kserve_manifest.check_storage_uri(storage_uri)
    else:
        uri = kserve_manifest.storage_uri(model_uri, subpath)
    kserve_manifest.check_service_name(service_name)
    rows = smoke_rows(test_path, [str(name) for name in feature_columns], smoke_row_count)
    request = smoke_request(serving_format, service_name, model_dir, model_metadata, rows)
    cluster = connect()
    spec = kserve_manifest.ServiceSpec(
        name=service_name,
        namespace=namespace or cluster.default_namespace,
        storage_uri=uri,
        serving_format=serving_format,
        resources=kserve_manifest.Resources(
            requests=dict(requests or DEFAULT_REQUESTS),
            limits=dict(limits or {}),
            gpu_count=gpu_count,
            gpu_resource=gpu_resource,
        ),
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        service_account=service_account,
        runtime=runtime,
        annotations={"kfp-mlops/artifact-uri": model_uri, "kfp-mlops/model-format": model_format},
    )
    manifest = kserve_manifest.manifest(spec)
    rollout = Rollout(
        InferenceServices(cluster, spec.namespace),
        manifest,
        request.send,
        canary_traffic_percent=canary_traffic_percent,
        timeout=ready_timeout_seconds,
    )
    result = rollout.run()
    description = {
        **result.metadata(),
        "storage_uri": uri,
        "model_format": model_format,
        "smoke_rows": len(rows),
    }
    write_text(output_path, json.dumps({**description, "manifest": manifest}, indent=2) + "\n")
    print(
        f"InferenceService {result.namespace}/{result.name} {result.action}: revision "
        f"{result.revision} serves 100% at {result.url}"
    )
    return description

"""Put an InferenceService back on an earlier model (``kfp-mlops rollback`` on a cluster).

The earlier champion's registered version records where it was deployed (``kserve.*`` tags:
namespace, name, storage_uri, model_format). Restoring patches the live InferenceService's
predictor to that storage URI and format, leaving its other settings (resources, replicas,
service account) as they are, and rolls it out without a canary: it is a known-good model and the
point is to stop serving the current one. If the restored revision does not become ready, the
rollout puts the current predictor back, as any rollout does. There are no test rows here, so the
revision is checked through the runtime's model-ready endpoint instead of a smoke prediction.
"""

import copy
from collections.abc import Callable, Mapping

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.kube_api import InferenceServices, connect
from kfp_mlops.components.deployment import kserve_manifest
from kfp_mlops.components.deployment.rollout import Rollout, RolloutResult
from kfp_mlops.components.deployment.smoke import model_ready_probe

REQUIRED_TAGS = ("name", "namespace", "storage_uri", "model_format")


def restore_inference_service(
    deployment: Mapping[str, str],
    kubeconfig: str | None = None,
    context: str | None = None,
    timeout: float = 600.0,
    log: Callable[[str], None] = print,
) -> RolloutResult:
    """Rolls the InferenceService in ``deployment`` back to the model it records.

    Args:
        deployment: The restored version's ``kserve.*`` tags (without the prefix).
        kubeconfig: A kubeconfig file instead of the in-cluster or default configuration.
        context: A kubeconfig context other than the current one.
        timeout: Seconds the restored revision may take to become ready.
        log: Receives one line per step.

    Raises:
        ComponentInputError: The tags are incomplete, the service does not exist, the API refuses
            (missing permission...), or the restored revision fails (and the current predictor
            is put back).
    """
    missing = [key for key in REQUIRED_TAGS if not deployment.get(key)]
    if missing:
        raise ComponentInputError(
            f"the version's deployment record lacks kserve.{', kserve.'.join(missing)}: cannot "
            "tell which InferenceService to restore"
        )
    name, namespace = deployment["name"], deployment["namespace"]
    serving_format = kserve_manifest.MODEL_FORMATS.get(deployment["model_format"])
    if serving_format is None:
        raise ComponentInputError(
            f"kserve.model_format {deployment['model_format']!r} is not one of "
            f"{', '.join(kserve_manifest.MODEL_FORMATS)}"
        )
    storage = kserve_manifest.check_storage_uri(deployment["storage_uri"])
    services = InferenceServices(connect(kubeconfig, context), namespace)
    live = services.get(name)
    if live is None:
        raise ComponentInputError(
            f"InferenceService {namespace}/{name}, where the version was deployed, does not exist"
        )
    manifest = {
        "apiVersion": kserve_manifest.API_VERSION,
        "kind": kserve_manifest.KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(kserve_manifest.MANAGED_BY),
            "annotations": {
                "kfp-mlops/model-format": serving_format.name,
                "kfp-mlops/restored-storage-uri": storage,
            },
        },
        "spec": {"predictor": copy.deepcopy(live["spec"]["predictor"])},
    }
    model = manifest["spec"]["predictor"].setdefault("model", {})
    model["storageUri"] = storage
    model["modelFormat"] = {"name": serving_format.name, "version": serving_format.version}
    model["protocolVersion"] = serving_format.protocol
    rollout = Rollout(
        services,
        manifest,
        model_ready_probe(serving_format, name),
        canary_traffic_percent=100,
        timeout=timeout,
        log=log,
    )
    return rollout.run()

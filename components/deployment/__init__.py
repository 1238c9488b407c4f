"""Deployment component: roll a Model out to a KServe InferenceService on a cluster.

The logic lives in deploy.py (the step), kserve_manifest.py (InferenceService manifests from the
kserve SDK's classes), kube_api.py (the Kubernetes API), rollout.py (create or canary, smoke,
promote, roll back), smoke.py (the smoke request) and restore.py (``kfp-mlops rollback`` on a
cluster). The local serve-check is in :mod:`kfp_mlops.components.serving`.
"""

from typing import TYPE_CHECKING

from kfp_mlops.components.lazy import component_loader

if TYPE_CHECKING:  # what an IDE follows; at run time the components load on first use
    from kfp_mlops.components.deployment.component import (
        deploy_inference_service,
    )

__all__ = ["deploy_inference_service"]
__getattr__ = component_loader(__name__, __all__)

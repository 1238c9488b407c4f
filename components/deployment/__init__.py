"""Deployment components: serve_check and deploy_inference_service.

The logic lives in check.py (the serve-check) and deploy.py (the KServe rollout), and the modules
they use.
"""

from kfp_mlops.components.lazy import component_loader

__all__ = ["deploy_inference_service", "serve_check"]
__getattr__ = component_loader(__name__, __all__)

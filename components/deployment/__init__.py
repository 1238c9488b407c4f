"""Deployment components: serve_check. The logic lives in check.py and the modules it uses."""

from kfp_mlops.components.lazy import component_loader

__all__ = ["serve_check"]
__getattr__ = component_loader(__name__, __all__)

"""Serving component: the serve-check, which runs on the step's own machine.

The logic lives in check.py (the serve-check), local_server.py (the KServe model server in a child
process on 127.0.0.1), model_server.py (the server's entry point and model wrapper) and
model_source.py (a Model folder, an MLflow model URI or NAME@ALIAS as a local folder, for
``kfp-mlops serve``). Loading a model folder under the sklearn runtime's layout, the ONNX predictors
and the request forms are in the shared layer, :mod:`kfp_mlops.components.common`.
"""

from typing import TYPE_CHECKING

from kfp_mlops.components.lazy import component_loader

if TYPE_CHECKING:  # what an IDE follows; at run time the components load on first use
    from kfp_mlops.components.serving.component import (
        serve_check,
    )

__all__ = ["serve_check"]
__getattr__ = component_loader(__name__, __all__)

"""Reusable Kubeflow Pipelines components, one package per MLOps stage.

Compose them inside your own ``@dsl.pipeline``::

    from kfp_mlops.components import data, training

Each stage package re-exports its components from ``component.py``; the plain-Python logic they call
lives in the modules beside it and can be used (and tested) without KFP.
"""

STAGES = (
    "data",
    "training",
    "tuning",
    "evaluation",
    "registry",
    "serving",
    "deployment",
    "monitoring",
)
"""The stage packages, in the order of the loop. Each imports only the shared layer
(:mod:`kfp_mlops.components.common`), ``images``, ``lazy``, kfp and its own modules."""

"""Time limits of the long steps, so that a hung step fails instead of holding a run forever.

KFP 2.17's SDK has no per-task timeout of its own (``kfp/dsl/pipeline_task.py`` has
``set_retry``, ``set_caching_options`` and resource setters, no timeout); kfp-kubernetes 2.17 has
``kubernetes.set_timeout`` (``kfp/kubernetes/timeout.py``), which sets the task pod's
``activeDeadlineSeconds``: Kubernetes stops the pod (SIGTERM, then SIGKILL) when it runs longer,
and the task fails. It is a Kubernetes setting: ``kfp.local`` ignores it, and a Vertex AI build
drops it with the rest of the platform document (``compile.compiler.single_document``).
"""

from kfp import dsl, kubernetes

TRAINING_SECONDS = 6 * 3600
"""Training and each tuning worker: hours of data are fine, a day-long hang is not."""
SERVE_CHECK_SECONDS = 1800
"""The serve-check: a model server on the test rows."""
REGISTRY_SECONDS = 1800
"""Registration: logging the model and datasets to MLflow."""
DEPLOY_SECONDS = 3600
"""Deployment: rollout, canary and smoke checks (each phase has its own ready timeout)."""


def limit(task: dsl.PipelineTask, seconds: int) -> dsl.PipelineTask:
    """Fails ``task`` when its pod runs longer than ``seconds``; returns it."""
    return kubernetes.set_timeout(task, seconds)

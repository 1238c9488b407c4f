"""SIGTERM as ``SystemExit`` while a rollout has half-changed the cluster, so it can undo it.

Kubernetes stops a pod (a cancelled run, a step past its ``activeDeadlineSeconds``) with SIGTERM,
then SIGKILL once ``terminationGracePeriodSeconds`` pass: 30 s unless the pod says otherwise
(``k8s.io/api/core/v1/types.go``, PodSpec, "Defaults to 30 seconds"). Python's default for SIGTERM
ends the process at once, running no ``except``/``finally`` block. Inside :func:`sigterm_as_exit`,
SIGTERM raises ``SystemExit(143)`` instead (the same context manager that
:mod:`kfp_mlops.components.common.atomic` uses for writes), which the rollout catches to put
traffic back before it exits.
"""

from kfp_mlops.components.common.atomic import sigterm_as_exit

__all__ = ["STOP_GRACE_SECONDS", "sigterm_as_exit"]

STOP_GRACE_SECONDS = 20.0
"""How long a stopped rollout waits for traffic to be back: well inside the 30 s default grace."""

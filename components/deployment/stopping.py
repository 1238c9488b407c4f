"""SIGTERM as ``SystemExit`` while a rollout has half-changed the cluster, so it can undo it.

Kubernetes stops a pod (a cancelled run, a step past its ``activeDeadlineSeconds``) with SIGTERM,
then SIGKILL once ``terminationGracePeriodSeconds`` pass: 30 s unless the pod says otherwise
(``k8s.io/api/core/v1/types.go``, PodSpec, "Defaults to 30 seconds"). Python's default for SIGTERM
ends the process at once, running no ``except``/``finally`` block. Inside :func:`sigterm_as_exit`,
SIGTERM raises ``SystemExit(143)`` instead (as :mod:`kfp_mlops.components.common.atomic` does for
writes), which the rollout catches to put traffic back before it exits.
"""

import contextlib
import signal
import threading
from collections.abc import Iterator

STOP_GRACE_SECONDS = 20.0
"""How long a stopped rollout waits for traffic to be back: well inside the 30 s default grace."""


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Meanwhile, SIGTERM raises ``SystemExit(143)``, unless something else already handles it.

    Signal handlers can only be set from the main thread; elsewhere (and when the program set its
    own handler) SIGTERM keeps its behaviour.
    """
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

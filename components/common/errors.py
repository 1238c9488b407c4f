"""The two kinds of failure components raise, each with a one-line message a person can act on.

- :class:`ComponentInputError`: bad input. The user must change a parameter or the data (which
  column, threshold or URI, and what is wrong with it); running again as it is fails again.
- :class:`ExternalSystemError`: a system the step depends on failed (the cluster, the registry, the
  network, a server that timed out). The input may be fine; retrying later may help.

The message is a single line so that it reads well in the KFP UI, in ``kfp.local`` logs and in the
``kfp-mlops run`` summary, which quotes it as the reason a run failed and tells the two kinds apart
by their class names (:data:`KIND_BY_NAME`); the CLI exits with a different status for each.
"""


class ComponentError(Exception):
    """A failure with a one-line message; see the two kinds below."""

    kind = "error"

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class ComponentInputError(ComponentError, ValueError):
    """Bad input or a broken rule: which column, threshold or URI, and what is wrong with it."""

    kind = "input"


class ExternalSystemError(ComponentError, RuntimeError):
    """A system outside the step failed or refused.

    The Kubernetes API, MLflow, a model server, the network. Says which system, what it answered,
    and (for a refusal) what would fix it.
    """

    kind = "system"


KIND_BY_NAME = {error.__name__: error.kind for error in (ComponentInputError, ExternalSystemError)}
"""Exception class name to its kind, for reading a failed step's last log line."""

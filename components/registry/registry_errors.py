"""MLflow failing after the store answered: one line naming what was being done, as a system error.

:func:`~kfp_mlops.components.common.mlflow_registry.connect` names a store that does not answer at
all. A store can still fail later, on any request: MLflow's REST client retries 429/5xx itself
(``mlflow/utils/rest_utils.py``, mlflow 3.17.2, ``MLFLOW_HTTP_REQUEST_MAX_RETRIES``), then
raises ``MlflowException("API request to ... failed with exception ...")`` with a multi-line
message. Inside :func:`mlflow_failures`, such an error becomes an :class:`ExternalSystemError`
whose one line says what was being done, what is left behind, and the first line of MLflow's
answer.
"""

import contextlib
from collections.abc import Iterator

from mlflow.exceptions import MlflowException

from kfp_mlops.components.common.errors import ExternalSystemError

_REASON_LENGTH = 300


def first_line(error: BaseException) -> str:
    """The first line of an error's message, cut to a length that reads well in a log line."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    reason = lines[0]
    return reason if len(reason) <= _REASON_LENGTH else reason[: _REASON_LENGTH - 3] + "..."


@contextlib.contextmanager
def mlflow_failures(doing: str, left: str = "") -> Iterator[None]:
    """Turns an MLflow or network failure raised meanwhile into a one-line ExternalSystemError.

    Args:
        doing: What was being done, e.g. "moving the 'champion' alias of 'iris' to version 3".
        left: What the failure leaves behind, appended after the reason when given.

    Raises:
        ExternalSystemError: MLflow raised (after its own retries) or the connection failed.
    """
    try:
        yield
    except (MlflowException, OSError) as error:
        code = getattr(error, "error_code", None)
        reason = f"{code}: {first_line(error)}" if code else first_line(error)
        raise ExternalSystemError(
            f"MLflow failed while {doing} ({reason}){'; ' + left if left else ''}"
        ) from error

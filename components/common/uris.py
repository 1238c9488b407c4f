"""Credentials must never ride inside a URI: they would be printed and stored wherever it goes.

A URI given to a pipeline becomes a run parameter (in the KFP UI, ``pipeline.log``, MLflow params,
artifact metadata and every error that names it). A password in ``user:password@host`` or a key in
the query string (``?access_key=...&secret_key=...``, a pre-signed URL's ``X-Amz-Signature``)
would land in clear text in all of them. :func:`check_no_credentials` refuses such a URI in one
line (which shows it redacted); :func:`redact` hides them where a URI is only displayed.
Credentials come from the environment instead, which the pipelines fill from optional Kubernetes
secrets (``pipelines/credentials.py``).
"""

import re
import urllib.parse

from kfp_mlops.components.common.errors import ComponentInputError

HIDDEN = "***"
SECRET_QUERY_KEYS = re.compile(
    r"(pass(word)?|secret|token|key|signature|credential|auth|session)", re.IGNORECASE
)
"""Query parameters holding a credential (access_key, secret_key, X-Amz-Signature, token...)."""


def _split(uri: str) -> urllib.parse.SplitResult | None:
    if "://" not in uri:
        return None
    try:
        return urllib.parse.urlsplit(uri)
    except ValueError:
        return None


def secret_parts(uri: str) -> list[str]:
    """What in ``uri`` is a credential: ``password`` and the names of secret query keys."""
    parts = _split(uri)
    if parts is None:
        return []
    found = []
    if parts.password:
        found.append("password")
    found += [
        key
        for key, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if SECRET_QUERY_KEYS.search(key)
    ]
    return found


def redact(uri: str) -> str:
    """``uri`` with its password and secret query values shown as ``***``."""
    parts = _split(uri)
    if parts is None or not secret_parts(uri):
        return uri
    netloc = parts.netloc
    if parts.password:
        user_info, _, host = netloc.rpartition("@")
        user = user_info.split(":", 1)[0]
        netloc = f"{user}:{HIDDEN}@{host}"
    query = "&".join(
        f"{key}={HIDDEN if SECRET_QUERY_KEYS.search(key) else value}"
        for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    )
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def check_no_credentials(uri: str, what: str) -> None:
    """Refuses a URI that carries a credential.

    Args:
        uri: The URI.
        what: What it is, for the message (``data_uri``, ``mlflow_tracking_uri``...).

    Raises:
        ComponentInputError: ``uri`` holds a password or a secret query parameter.
    """
    found = secret_parts(uri)
    if found:
        raise ComponentInputError(
            f"{what} {redact(uri)} carries a credential ({', '.join(found)}); it would be stored "
            "and printed with the URI: give credentials through the environment instead "
            "(MLFLOW_TRACKING_USERNAME/PASSWORD/TOKEN, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; "
            "on a cluster the optional Kubernetes secrets mlflow-credentials and "
            "object-store-credentials)"
        )

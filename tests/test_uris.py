"""Credentials inside URIs: refused in one line that shows them redacted."""

import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.uris import check_no_credentials, redact, secret_parts


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("http://alice:s3cret@mlflow:5000", "http://alice:***@mlflow:5000"),
        (
            "s3://bucket/d.csv?access_key=AKIA1&secret_key=XYZ&region=eu",
            "s3://bucket/d.csv?access_key=***&secret_key=***&region=eu",
        ),
        (
            "https://b.s3.amazonaws.com/d.csv?X-Amz-Signature=abc&X-Amz-Date=1",
            "https://b.s3.amazonaws.com/d.csv?X-Amz-Signature=***&X-Amz-Date=1",
        ),
    ],
)
def test_a_credential_is_refused_and_never_shown(uri, shown):
    with pytest.raises(ComponentInputError) as raised:
        check_no_credentials(uri, "data_uri")
    message = str(raised.value)
    assert message.startswith(f"data_uri {shown} carries a credential")
    assert redact(uri) == shown
    for secret in ("s3cret", "AKIA1", "XYZ", "abc"):
        assert secret not in message


@pytest.mark.parametrize(
    "uri",
    [
        "sqlite:///runs/mlflow.db",
        "http://mlflow:5000",
        "s3://bucket/k.csv?endpoint_override=http://127.0.0.1:9000",
        "/data/train.csv",
        "alice@champion",
    ],
)
def test_uris_without_credentials_pass(uri):
    check_no_credentials(uri, "data_uri")
    assert secret_parts(uri) == [] and redact(uri) == uri

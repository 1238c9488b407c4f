"""Reaching MLflow and checking names: one-line errors that name the URI, the name or the alias."""

import http.server
import threading

import pytest
from mlflow.exceptions import MlflowException
from mlflow.utils.validation import (
    MAX_REGISTERED_MODEL_ALIAS_LENGTH,
    _validate_model_alias_name,
    _validate_model_name,
)

from kfp_mlops.components.common.errors import ComponentInputError, ExternalSystemError
from kfp_mlops.components.common.mlflow_registry import (
    check_alias,
    check_registered_model_name,
    connect,
    hide_password,
    model_uri,
)


@pytest.fixture
def no_retries(monkeypatch):
    """MLflow retries an unreachable server for minutes by default; the tests want the verdict."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")


@pytest.fixture
def web_server():
    """An HTTP server that is not MLflow (it answers MLflow's API calls with 501)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _one_line_naming(error: pytest.ExceptionInfo, uri: str) -> str:
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"cannot use MLflow tracking URI '{uri}': ")
    return message


def test_connects_to_a_sqlite_store(tracking_uri):
    client = connect(tracking_uri)
    assert [experiment.name for experiment in client.search_experiments()] == ["Default"]


def test_unreachable_server_is_named(no_retries, unused_port):
    uri = f"http://127.0.0.1:{unused_port}"
    with pytest.raises(ExternalSystemError) as raised:
        connect(uri)
    assert "Connection refused" in _one_line_naming(raised, uri)


def test_server_that_is_not_mlflow_is_named(no_retries, web_server):
    with pytest.raises(ComponentInputError) as raised:
        connect(web_server)
    assert "error code 501" in _one_line_naming(raised, web_server)


def test_password_in_the_uri_is_refused_and_hidden(no_retries, unused_port):
    uri = f"http://alice:s3cret@127.0.0.1:{unused_port}"
    with pytest.raises(ComponentInputError) as raised:  # refused before any request: the input
        connect(uri)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(
        f"MLflow tracking URI http://alice:***@127.0.0.1:{unused_port} carries a credential "
        "(password)"
    )
    assert "MLFLOW_TRACKING_USERNAME/PASSWORD" in message
    assert "s3cret" not in message


def test_unsupported_scheme_is_named():
    with pytest.raises(ComponentInputError) as raised:
        connect("ftp://mlflow.example.com")
    assert "unsupported URI" in _one_line_naming(raised, "ftp://mlflow.example.com")


def test_file_that_is_not_a_database_is_named(tmp_path):
    (tmp_path / "notes.db").write_text("not a database")
    uri = f"sqlite:///{tmp_path / 'notes.db'}"
    with pytest.raises(ComponentInputError) as raised:
        connect(uri)
    assert "file is not a database" in _one_line_naming(raised, uri)


@pytest.mark.parametrize("uri", ["", "sqlite://", "sqlite:///:memory:"])
def test_empty_or_in_memory_store_is_refused(uri):
    with pytest.raises(ComponentInputError, match="tracking URI"):
        connect(uri)


def test_hide_password_hides_only_the_password():
    uri = "postgresql://bob:pa55@db:5432/mlflow"
    assert hide_password(f"no {uri}", uri) == "no postgresql://bob:***@db:5432/mlflow"
    assert hide_password("https://mlflow.example.com", "https://mlflow.example.com") == (
        "https://mlflow.example.com"
    )


@pytest.mark.parametrize("name", ["", "a/b", "a:b"])
def test_registered_model_name_rules(name):
    with pytest.raises(ComponentInputError, match="registered_model_name"):
        check_registered_model_name(name)
    check_registered_model_name("breast-cancer classifier_v2")


@pytest.mark.parametrize(
    ("alias", "reason"),
    [("two words", "invalid"), ("latest", "reserved"), ("v3", "reserved"), ("", "invalid")],
)
def test_alias_rules(alias, reason):
    with pytest.raises(ComponentInputError, match=reason):
        check_alias(alias)
    check_alias("champion")


@pytest.mark.parametrize("name", [".", "..", "..model", "...", "ok", "a.b", "my..model", " ."])
def test_registered_model_name_agrees_with_mlflow(name):
    """Refuses what mlflow 3.17.2 refuses (``utils/validation.py``, ``_validate_model_name``)."""
    try:
        _validate_model_name(name)
    except MlflowException:
        with pytest.raises(ComponentInputError, match="registered_model_name"):
            check_registered_model_name(name)
    else:
        check_registered_model_name(name)


def test_alias_length_limit_is_mlflows():
    """mlflow 3.17.2 refuses an alias longer than ``MAX_REGISTERED_MODEL_ALIAS_LENGTH`` (255)."""
    check_alias("a" * MAX_REGISTERED_MODEL_ALIAS_LENGTH)
    with pytest.raises(MlflowException):
        _validate_model_alias_name("a" * (MAX_REGISTERED_MODEL_ALIAS_LENGTH + 1))
    with pytest.raises(ComponentInputError, match=r"alias 'aaa.*255"):
        check_alias("a" * (MAX_REGISTERED_MODEL_ALIAS_LENGTH + 1))


def test_model_uri_names_the_version():
    assert model_uri("breast-cancer", "3") == "models:/breast-cancer/3"

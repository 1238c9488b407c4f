"""No path loads a registered model with an unrestricted unpickler: a hostile version is refused in
one line and its code never runs (the sentinel file it would create stays absent)."""

import os
from pathlib import Path

import joblib
import mlflow
import mlflow.sklearn
import pytest
from click.testing import CliRunner
from mlflow.exceptions import MlflowException
from sklearn.preprocessing import FunctionTransformer

from kfp_mlops.compile.cli import main
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.mlflow_registry import version_with_alias
from kfp_mlops.components.common.registered_model import (
    PICKLE_SWITCH,
    load_registered_model,
    mlflow_deserialization_off,
)
from kfp_mlops.components.evaluation.evaluate import evaluate_model
from kfp_mlops.components.monitoring.quality import load_registered_model as quality_load
from kfp_mlops.components.registry.register import load_model_directory


class TouchesSentinel:
    """Unpickling it runs ``touch SENTINEL`` through ``os.system``."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self):
        return (os.system, (f"touch {self.sentinel}",))


def log_version(tracking_uri: str, model: object, serialization: str, **kwargs) -> None:
    """Logs ``model`` as a new version of ``hostile`` with alias champion, as an attacker could."""
    artifacts = Path(tracking_uri.removeprefix("sqlite:///")).parent / "artifacts"
    experiment = mlflow.MlflowClient(tracking_uri).create_experiment(
        f"hostile-{serialization}", artifact_location=artifacts.as_uri()
    )
    mlflow.set_tracking_uri(tracking_uri)
    try:
        with mlflow.start_run(experiment_id=experiment):
            # Explicit requirements: inferring them would load (and so run) the model here.
            logged = mlflow.sklearn.log_model(
                model,
                name="model",
                serialization_format=serialization,
                pip_requirements=["scikit-learn"],
                **kwargs,
            )
        version = mlflow.register_model(logged.model_uri, "hostile").version
        mlflow.MlflowClient(tracking_uri).set_registered_model_alias("hostile", "champion", version)
    finally:
        mlflow.set_tracking_uri(None)


@pytest.fixture
def sentinel(tmp_path: Path) -> Path:
    return tmp_path / "pwned"


@pytest.fixture
def pickled_version(tracking_uri: str, sentinel: Path) -> str:
    log_version(tracking_uri, TouchesSentinel(sentinel), "pickle")
    return tracking_uri


@pytest.fixture
def skops_version(tracking_uri: str) -> str:
    """A skops model whose MLmodel trusts ``posix.system`` (its own list, which we ignore)."""
    log_version(
        tracking_uri,
        FunctionTransformer(os.system),
        "skops",
        skops_trusted_types=["posix.system"],
    )
    return tracking_uri


def test_serve_refuses_a_hostile_pickle_in_one_line(pickled_version, sentinel):
    result = CliRunner().invoke(
        main, ["serve", "hostile@champion", "--tracking-uri", pickled_version]
    )

    assert result.exit_code == 1
    # (MLflow's download progress bar comes before it, on stderr.)
    error = result.output.splitlines()[-1]
    assert error.startswith("Error: model file models:/hostile@champion (model.pkl) refers to ")
    assert "posix.system, which kfp-mlops refuses" in error
    assert not sentinel.exists()


def test_serve_refuses_a_skops_model_trusting_a_function(skops_version):
    result = CliRunner().invoke(
        main, ["serve", "hostile@champion", "--tracking-uri", skops_version]
    )

    assert result.exit_code == 1
    error = result.output.splitlines()[-1]
    assert error.startswith("Error: models:/hostile@champion refers to posix.system")


def test_quality_check_refuses_the_hostile_champion(pickled_version, sentinel):
    champion = version_with_alias(pickled_version, "hostile", "champion")

    with pytest.raises(ComponentInputError, match=r"refers to posix\.system"):
        quality_load(pickled_version, champion)
    assert not sentinel.exists()


def test_mlflows_deserialization_is_off_while_we_read(pickled_version, sentinel, monkeypatch):
    monkeypatch.delenv(PICKLE_SWITCH, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", pickled_version)
    with mlflow_deserialization_off(), pytest.raises(MlflowException, match=PICKLE_SWITCH):
        mlflow.sklearn.load_model("models:/hostile@champion")
    assert PICKLE_SWITCH not in os.environ
    assert not sentinel.exists()


def test_the_registered_safe_format_still_loads(tracking_uri, trained_model):
    model_dir, _, _ = trained_model
    log_version(
        tracking_uri,
        joblib.load(model_dir / "model.joblib"),
        "skops",
        skops_trusted_types=["numpy.dtype"],
    )

    loaded = load_registered_model("models:/hostile@champion", tracking_uri)

    assert type(loaded).__name__ == "Pipeline"


def test_training_output_is_read_with_the_restricted_unpickler(tmp_path, sentinel):
    """register and evaluate load the Model directory the training step wrote."""
    (tmp_path / "model").mkdir()
    joblib.dump(TouchesSentinel(sentinel), tmp_path / "model" / "model.joblib")

    with pytest.raises(ComponentInputError, match=r"refers to posix\.system"):
        load_model_directory(tmp_path / "model")
    with pytest.raises(ComponentInputError, match=r"refers to posix\.system"):
        evaluate_model(str(tmp_path / "model"), str(tmp_path / "test.parquet"), "target")
    assert not sentinel.exists()

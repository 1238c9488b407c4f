"""Credentials reach the steps from optional Kubernetes secrets named in the YAML, never values;
a URI carrying one is refused before anything runs or is stored."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kfp_mlops.compile.cli import main
from kfp_mlops.pipelines import credentials

PIPELINES = (
    "tabular-classification",
    "tabular-regression",
    "retrain-on-drift",
    "image-classification",
)
EXPECTED = {
    credentials.MLFLOW_SECRET: {
        "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_PASSWORD",
        "MLFLOW_TRACKING_TOKEN",
    },
    credentials.OBJECT_STORE_SECRET: {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "MLFLOW_S3_ENDPOINT_URL",
    },
}
TUNING_STEPS = {"exec-create-study", "exec-run-trials", "exec-summarize-study"}
"""The tuning sub-pipeline's steps (their own storage secret), also suffixed -2 when a pipeline
nests it twice (retrain-on-drift: the classifier's and the regressor's retraining)."""


@pytest.mark.parametrize("name", PIPELINES)
def test_every_step_gets_the_optional_secrets_by_name(compiled_dir: Path, name):
    text = (compiled_dir / "pipelines" / f"{name}.yaml").read_text()
    _, platform = yaml.safe_load_all(text)
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    spec = yaml.safe_load(text.split("\n---\n")[0])
    for executor in spec["deploymentSpec"]["executors"]:
        if re.sub(r"-\d+$", "", executor) in TUNING_STEPS:
            continue
        found: dict[str, set[str]] = {}
        for secret in executors[executor]["secretAsEnv"]:
            assert secret["optional"] is True
            assert set(secret) == {"keyToEnv", "optional", "secretName", "secretNameParameter"}
            constant = secret["secretNameParameter"]["runtimeValue"]["constant"]
            assert constant == secret["secretName"]
            found.setdefault(constant, set()).update(m["envVar"] for m in secret["keyToEnv"])
        assert found == EXPECTED, executor
    assert not re.search(r"\w+://[^\s/@:]+:[^\s/@]+@", text)  # no user:password@ anywhere


@pytest.mark.parametrize(
    ("param", "secret"),
    [
        ("mlflow_tracking_uri=http://alice:s3cret@mlflow:5000", "s3cret"),
        ("data_uri=s3://bucket/d.csv?access_key=AKIAX&secret_key=SHHH", "SHHH"),
    ],
)
def test_run_refuses_a_credential_in_a_uri_before_anything_runs(tmp_path, param, secret):
    defaults = {"data_uri": "data_uri=/data.csv", "target_column": "target_column=t"}
    params = [value for key, value in defaults.items() if not param.startswith(key)]
    command = ["run", "tabular-classification", "--run-dir", str(tmp_path / "run")]
    for value in [*params, param]:
        command += ["--param", value]

    result = CliRunner().invoke(main, command)

    assert result.exit_code == 2
    error = result.output.strip().splitlines()[-1]
    assert "carries a credential" in error and "***" in error
    assert secret not in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"])
def test_pyarrow_reads_the_endpoint_from_the_secrets_variable(variable):
    """pyarrow 25.0.1's ``FileSystem.from_uri`` (what the steps call) sends S3 to that endpoint."""
    probe = (
        "import pyarrow.fs as fs\n"
        "s3, path = fs.FileSystem.from_uri('s3://bucket/key?region=us-east-1')\n"
        "try:\n"
        "    s3.get_file_info(path)\n"
        "except OSError as error:\n"
        "    print(error)\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "HOME"))}
    env.update(
        {
            variable: "http://127.0.0.1:9",  # the discard port: nothing listens, refused at once
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_EC2_METADATA_DISABLED": "true",
            "HOME": "/nonexistent",  # no ~/.aws/config to override the endpoint
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )

    assert "127.0.0.1" in result.stdout, result.stdout + result.stderr

"""``kfp-mlops submit tabular-regression`` against the fake Kubeflow Pipelines API."""

import json

from click.testing import CliRunner
from support.fake_kfp import FakeKfp, RunScript

from kfp_mlops.compile.cli import main


def test_tabular_regression_is_compiled_uploaded_run_and_followed(fake_kfp: FakeKfp):
    fake_kfp.script = RunScript(skip=("record-rejection",))
    arguments = ["submit", "tabular-regression", "--endpoint", fake_kfp.url, "--poll-seconds", "0"]
    for param in (
        "data_uri=s3://bucket/diabetes.csv",
        "target_column=target",
        "mlflow_tracking_uri=http://mlflow:5000",
        'thresholds={"r2": 0.4, "rmse": 60}',
    ):
        arguments += ["--param", param]
    result = CliRunner().invoke(main, [*arguments, "--wait", "--json"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    (upload,) = fake_kfp.uploads
    assert upload.query["name"] == "tabular-regression"
    assert b"train-sklearn-regressor" in upload.content
    summary = json.loads(result.stdout)
    states = {task["name"]: task["state"] for task in summary["tasks"]}
    assert states["evaluate-regressor"] == states["serve-check"] == "SUCCEEDED"

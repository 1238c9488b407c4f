"""The serve-check step: every protocol's answers against the model file's offline predictions."""

import json
import os
from pathlib import Path

import joblib
import numpy as np
import pyarrow as pa
import pytest
from deployment.model_dirs import TARGET, fit_pipeline, with_size_band, write_model_dir
from kfp import dsl
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.tables import read_parquet, write_parquet
from kfp_mlops.components.serving import serve_check
from kfp_mlops.components.serving.check import check_served_predictions, run_serve_check
from kfp_mlops.components.serving.local_server import running_model_server

PROTOCOL_KEYS = ("v1_rows", "v1_pandas", "v2")


def outputs_of(tmp_path):
    return str(tmp_path / "report.md"), str(tmp_path / "metrics.json")


@pytest.mark.slow
def test_served_answers_equal_offline_predictions(
    breast_cancer_model, breast_cancer_splits, tmp_path
):
    folder, metadata = breast_cancer_model
    report_path, metrics_path = outputs_of(tmp_path)
    test_rows = read_parquet(breast_cancer_splits["test"]).num_rows

    result = run_serve_check(
        str(folder),
        breast_cancer_splits["test"],
        TARGET,
        report_path,
        metrics_path,
        feature_columns=metadata["feature_columns"],
        model_target_column=TARGET,
    )

    assert result.rows_checked == test_rows
    assert result.endpoint.startswith("http://127.0.0.1:")
    metrics = json.loads(Path(metrics_path).read_text())
    assert metrics == result.metrics()
    assert metrics["rows_checked"] == test_rows
    for key in PROTOCOL_KEYS:
        assert 0 < metrics[f"{key}_latency_ms_p50"] <= metrics[f"{key}_latency_ms_p95"]
        assert metrics[f"{key}_batch_latency_ms"] > 0
        assert len(result.timing(key.replace("_", "-")).single_row_ms) == test_rows
    report = Path(report_path).read_text()
    assert report.startswith("# Serve check passed")
    assert result.endpoint in report
    for name in ("v1-rows", "v1-pandas", "v2"):
        assert f"| {name} |" in report


@pytest.mark.slow
def test_text_and_missing_values_reach_the_model_in_every_form(breast_cancer_frame, tmp_path):
    frame = with_size_band(breast_cancer_frame)
    frame.loc[::11, "mean texture"] = np.nan
    train, test = frame.iloc[:400].reset_index(drop=True), frame.iloc[400:]
    metadata = write_model_dir(tmp_path / "model", fit_pipeline(train, ["size_band"]), train)
    write_parquet(pa.Table.from_pandas(test, preserve_index=False), tmp_path / "test.parquet")

    result = run_serve_check(
        str(tmp_path / "model"),
        str(tmp_path / "test.parquet"),
        TARGET,
        *outputs_of(tmp_path),
        feature_columns=metadata["feature_columns"],
        max_rows=40,
    )

    assert result.rows_checked == 40


@pytest.mark.slow
def test_wrong_answer_names_the_protocol_and_row(breast_cancer_model, breast_cancer_splits):
    folder, metadata = breast_cancer_model
    features = read_parquet(breast_cancer_splits["test"]).to_pandas()[metadata["feature_columns"]]
    offline = joblib.load(folder / "model.joblib").predict(features.head(10))
    offline[5] = 1 - offline[5]

    with running_model_server(folder) as server, pytest.raises(ComponentInputError) as raised:
        check_served_predictions(server, features.head(10), offline)
    message = str(raised.value)
    assert message.startswith("serve-check: v1-rows answer differs from the offline prediction")
    assert "at test row 5:" in message
    assert server.url in message
    assert "\n" not in message


@pytest.mark.slow
def test_model_that_only_takes_dataframes_fails_the_v1_rows_form(breast_cancer_splits, tmp_path):
    train = read_parquet(breast_cancer_splits["train"]).to_pandas()
    features = [name for name in train.columns if name != TARGET]
    by_name = Pipeline(
        [
            ("select", ColumnTransformer([("keep", "passthrough", features)])),
            ("classifier", DecisionTreeClassifier(random_state=0)),
        ]
    ).fit(train[features], train[TARGET])
    write_model_dir(tmp_path / "model", by_name, train)

    with pytest.raises(
        ComponentInputError,
        match=r"^serve-check: v1-rows request http://127\.0\.0\.1:\d+/v1/models/model:predict "
        r"for test row 0 answered HTTP 500: .*strings is only supported for dataframes",
    ):
        run_serve_check(
            str(tmp_path / "model"), breast_cancer_splits["test"], TARGET, *outputs_of(tmp_path)
        )
    assert not (tmp_path / "report.md").exists()
    assert not (tmp_path / "metrics.json").exists()


@pytest.mark.slow
def test_refused_model_file_fails_naming_the_global_and_writes_nothing(
    breast_cancer_splits, tmp_path
):
    sentinel = tmp_path / "pwned"

    class WritesSentinel:
        def __reduce__(self):
            return (os.system, (f"touch {sentinel}",))

    (tmp_path / "model").mkdir()
    joblib.dump(WritesSentinel(), tmp_path / "model" / "model.joblib")

    with pytest.raises(
        ComponentInputError, match=r"http://127\.0\.0\.1:\d+ exited .*posix\.system"
    ):
        run_serve_check(
            str(tmp_path / "model"), breast_cancer_splits["test"], TARGET, *outputs_of(tmp_path)
        )
    assert not sentinel.exists()
    assert not (tmp_path / "report.md").exists()


def test_missing_target_column_is_refused(breast_cancer_model, breast_cancer_splits, tmp_path):
    folder, _ = breast_cancer_model
    with pytest.raises(ComponentInputError, match="target column 'label' not found in the test"):
        run_serve_check(str(folder), breast_cancer_splits["test"], "label", *outputs_of(tmp_path))


def test_missing_feature_columns_are_named(breast_cancer_model, breast_cancer_splits, tmp_path):
    folder, metadata = breast_cancer_model
    with pytest.raises(ComponentInputError, match="lacks the model's feature columns: age, weight"):
        run_serve_check(
            str(folder),
            breast_cancer_splits["test"],
            TARGET,
            *outputs_of(tmp_path),
            feature_columns=[*metadata["feature_columns"], "age", "weight"],
        )


def test_target_other_than_the_models_is_refused(
    breast_cancer_model, breast_cancer_splits, tmp_path
):
    folder, _ = breast_cancer_model
    with pytest.raises(ComponentInputError, match="differs from the target the model was trained"):
        run_serve_check(
            str(folder),
            breast_cancer_splits["test"],
            TARGET,
            *outputs_of(tmp_path),
            model_target_column="diagnosis",
        )


def test_max_rows_below_one_is_refused(breast_cancer_model, breast_cancer_splits, tmp_path):
    folder, _ = breast_cancer_model
    with pytest.raises(ComponentInputError, match="max_rows 0 is less than 1"):
        run_serve_check(
            str(folder), breast_cancer_splits["test"], TARGET, *outputs_of(tmp_path), max_rows=0
        )


@pytest.mark.slow
def test_component_reports_latencies_and_metrics(
    breast_cancer_model, breast_cancer_splits, tmp_path
):
    folder, metadata = breast_cancer_model
    model = dsl.Model(uri=str(folder), metadata=metadata)
    test = dsl.Dataset(uri=breast_cancer_splits["test"])
    report = dsl.Markdown(uri=str(tmp_path / "report.md"))
    serving_metrics = dsl.Metrics(uri=str(tmp_path / "metrics.json"))

    outputs = serve_check.python_func(
        model=model,
        test=test,
        target_column=TARGET,
        report=report,
        serving_metrics=serving_metrics,
        max_rows=25,
    )

    assert outputs.rows_checked == 25
    assert outputs.endpoint.startswith("http://127.0.0.1:")
    assert outputs.v1_latency_ms_p50 > 0
    assert outputs.v2_latency_ms_p50 > 0
    assert serving_metrics.metadata["rows_checked"] == 25
    assert serving_metrics.metadata["v2_latency_ms_p50"] == round(outputs.v2_latency_ms_p50, 3)
    assert json.loads((tmp_path / "metrics.json").read_text()) == serving_metrics.metadata
    assert "25 test rows" in (tmp_path / "report.md").read_text()


def model_servers_of_this_process() -> list[int]:
    """Pids of model-server processes this test process started that still exist (/proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, NotADirectoryError, PermissionError, ProcessLookupError):
            continue
        if b"kfp_mlops.components.serving.model_server" in arguments and (
            str(os.getpid()).encode() in arguments
        ):
            found.append(int(entry.name))
    return found


def test_bad_test_rows_fail_while_the_server_starts_and_leave_no_server(
    breast_cancer_model, breast_cancer_splits, tmp_path
):
    # The server starts before the test rows are read; a bad table must still stop it.
    folder, _ = breast_cancer_model
    with pytest.raises(ComponentInputError, match="target column 'label' not found in the test"):
        run_serve_check(str(folder), breast_cancer_splits["test"], "label", *outputs_of(tmp_path))

    assert model_servers_of_this_process() == []
    assert not (tmp_path / "report.md").exists()

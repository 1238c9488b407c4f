"""The serve-check compares the ONNX export with the sklearn model on the same test rows."""

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from kfp import dsl

from kfp_mlops.components import serving
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.features import feature_frame
from kfp_mlops.components.common.model_loading import load_model_dir
from kfp_mlops.components.common.tables import read_parquet, write_parquet
from kfp_mlops.components.serving.check import compare_onnx, run_serve_check
from kfp_mlops.components.training.train import train_to_directory


@pytest.fixture(scope="module")
def trained(tmp_path_factory, breast_cancer_splits) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("forest") / "model"
    metadata = train_to_directory(
        breast_cancer_splits["train"], str(folder), "target", "random_forest", {"n_estimators": 30}
    )
    return folder, metadata


@pytest.fixture(scope="module")
def inverted(tmp_path_factory, breast_cancer_splits) -> tuple[Path, dict]:
    """A model trained on inverted labels: its ONNX export disagrees with any sane model."""
    table = read_parquet(breast_cancer_splits["train"]).to_pandas()
    table["target"] = 1 - table["target"]
    path = tmp_path_factory.mktemp("inverted") / "train.parquet"
    write_parquet(pa.Table.from_pandas(table, preserve_index=False), path)
    folder = tmp_path_factory.mktemp("inverted") / "model"
    return folder, train_to_directory(str(path), str(folder), "target", "logistic_regression")


def features(trained, splits):
    return feature_frame(read_parquet(splits["test"]), trained[1]["feature_columns"])


def test_the_export_agrees_with_the_sklearn_model(trained, breast_cancer_splits):
    folder, metadata = trained
    rows = features(trained, breast_cancer_splits)

    comparison = compare_onnx(str(folder), load_model_dir(folder), rows, metadata["onnx"], 0.99)

    assert comparison.agreement >= 0.99
    assert comparison.max_probability_difference < 0.1  # float32: a tree vote may move
    assert "## ONNX export" in "\n".join(comparison.to_markdown())


def test_an_export_of_another_model_fails_naming_the_rows(
    trained, inverted, breast_cancer_splits, tmp_path
):
    folder, metadata = trained
    mixed = tmp_path / "model"
    shutil.copytree(folder, mixed)
    shutil.rmtree(mixed / "onnx")
    shutil.copytree(inverted[0] / "onnx", mixed / "onnx")
    rows = features(trained, breast_cancer_splits)

    with pytest.raises(ComponentInputError) as raised:
        compare_onnx(str(mixed), load_model_dir(mixed), rows, metadata["onnx"], 0.99)

    assert "ONNX export predicts the sklearn model's label on only" in str(raised.value)
    assert "first differing rows: 0, 1, 2" in str(raised.value)


def test_a_model_without_export_is_reported_not_checked(trained, breast_cancer_splits):
    folder, _ = trained
    comparison = compare_onnx(
        str(folder),
        load_model_dir(folder),
        features(trained, breast_cancer_splits),
        {"exported": False, "reason": "float64 classes"},
        0.99,
    )
    assert comparison.agreement is None
    assert "Not checked: the Model has no ONNX export (float64 classes)" in comparison.to_markdown()


@pytest.mark.slow
def test_component_reports_onnx_agreement(trained, breast_cancer_splits, tmp_path):
    folder, metadata = trained
    report = dsl.Markdown(uri=str(tmp_path / "report"))
    metrics = dsl.Metrics(uri=str(tmp_path / "metrics"))

    serving.serve_check.python_func(
        model=dsl.Model(uri=str(folder), metadata=dict(metadata)),
        test=dsl.Dataset(uri=breast_cancer_splits["test"]),
        target_column="target",
        report=report,
        serving_metrics=metrics,
        max_rows=20,
    )

    assert metrics.metadata["onnx_label_agreement"] == 1.0
    assert json.loads(Path(metrics.path).read_text())["onnx_label_agreement"] == 1.0
    assert (
        "ONNX Runtime (float32) predicts the sklearn model's label on 100.00%"
        in Path(report.path).read_text()
    )


def test_out_of_range_agreement_is_refused(trained, breast_cancer_splits, tmp_path):
    with pytest.raises(
        ComponentInputError, match=r"onnx_min_agreement 1\.5 is not between 0 and 1"
    ):
        run_serve_check(
            str(trained[0]),
            breast_cancer_splits["test"],
            "target",
            str(tmp_path / "r"),
            str(tmp_path / "m"),
            onnx_min_agreement=1.5,
        )

"""The CPU image, built here from containers/Dockerfile, runs our compiled components.

It runs the exact command each compiled YAML gives, in the image that YAML names, with an executor
input built as the KFP launcher builds it: what a cluster would do, without the cluster.
"""

import json

import joblib
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score
from support.image_build import KFP_VERSION
from support.launcher import put_file, run_component, run_in_image, stand_in_store

from kfp_mlops.components import images

pytestmark = pytest.mark.slow

PARTS = ("train", "validation", "test")


def test_the_compiled_yaml_names_the_image_built_here(cpu_image, compiled):
    assert {spec.image for spec in compiled.values()} == {cpu_image.reference}
    assert cpu_image.reference == images.CPU_IMAGE


def test_image_holds_the_kfp_the_yaml_was_compiled_with(image_cache, cpu_image, compiled):
    listed = run_in_image(
        image_cache.buildah, cpu_image.reference, ["python3", "-m", "pip", "list", "--format=json"]
    )
    assert listed.returncode == 0, listed.stderr
    versions = {item["name"].lower(): item["version"] for item in json.loads(listed.stdout)}
    assert {spec.sdk_version for spec in compiled.values()} == {f"kfp-{versions['kfp']}"}
    assert versions["kfp"] == KFP_VERSION
    assert versions["kfp-mlops"] == images.PACKAGE_VERSION
    labels = image_cache.buildah.inspect(cpu_image.reference)["OCIv1"]["config"]["Labels"]
    assert labels["io.kfp-mlops.kfp-version"] == versions["kfp"]
    assert labels["org.opencontainers.image.version"] == images.PACKAGE_VERSION
    assert labels["org.opencontainers.image.source"].startswith("https://")


def test_image_runs_as_non_root_without_build_tools_or_builder_settings(image_cache, cpu_image):
    buildah = image_cache.buildah
    config = buildah.inspect(cpu_image.reference)["OCIv1"]["config"]
    assert config["User"] == "10001:10001"
    assert not [item for item in config["Env"] if item.startswith("PIP_")]
    with buildah.container(cpu_image.reference) as container:

        def run(*argv: str):
            return buildah.run(container, argv)

        assert run("id", "-u").stdout.strip() == "10001"
        tools = run("sh", "-c", 'for t in gcc cc c++ make ld; do command -v "$t"; done; true')
        assert tools.stdout.strip() == "", f"build tools in the image: {tools.stdout.split()}"
        assert run("ls", "-A", "/mnt").stdout.strip() == "", "the build's wheelhouse mount is left"
        for leftover in ("/src", "/etc/pip.conf", "/root/.cache/pip"):
            assert run("test", "-e", leftover).returncode == 1, f"{leftover} is in the image"
        assert run("touch", "/opt/kfp-mlops/bin/probe").returncode != 0, "user can alter the venv"
        checked = run("python3", "-m", "pip", "check")
        assert checked.returncode == 0, checked.stdout


def test_ingest_split_and_train_run_in_the_image_as_the_launcher_runs_them(
    image_cache, cpu_image, compiled, tmp_path, breast_cancer_csv, breast_cancer_frame
):
    buildah = image_cache.buildah
    store = stand_in_store(tmp_path / "minio")
    source = put_file(store, breast_cancer_csv, "inputs/breast_cancer.csv")

    ingest = run_component(
        buildah, compiled["ingest_dataset"], store, "ingest-dataset", {"source_uri": source}
    )
    dataset = ingest.artifacts["dataset"]
    assert dataset.metadata["rows"] == len(breast_cancer_frame)
    assert dataset.metadata["source_uri"] == source
    table = pd.read_parquet(dataset.host_path(store))
    pd.testing.assert_frame_equal(table, breast_cancer_frame, check_dtype=False)

    split = run_component(
        buildah,
        compiled["split_dataset"],
        store,
        "split-dataset",
        {"target_column": "target", "seed": 7},
        {"dataset": dataset},
    )
    rows = {part: split.artifacts[part].metadata["rows"] for part in PARTS}
    assert sum(rows.values()) == len(breast_cancer_frame)
    assert all(count > 0 for count in rows.values())

    train = run_component(
        buildah,
        compiled["train_sklearn"],
        store,
        "train-sklearn",
        {"target_column": "target", "estimator": "logistic_regression", "seed": 7},
        {"train": split.artifacts["train"], "validation": split.artifacts["validation"]},
    )
    model = train.artifacts["model"]
    model_dir = model.host_path(store)
    assert (model_dir / "model.joblib").is_file()
    assert model.metadata["framework"] == "sklearn"
    assert model.metadata["estimator"] == "logistic_regression"
    assert model.metadata["train_fingerprint"] == split.artifacts["train"].metadata["fingerprint"]
    assert model.metadata["train_rows"] == rows["train"]
    # The model file written in the image predicts here as its metadata says it did there.
    fitted = joblib.load(model_dir / "model.joblib")
    validation = pd.read_parquet(split.artifacts["validation"].host_path(store))
    features = validation[model.metadata["feature_columns"]]
    accuracy = accuracy_score(validation["target"], fitted.predict(features))
    assert accuracy == pytest.approx(model.metadata["validation_accuracy"])
    test = pd.read_parquet(split.artifacts["test"].host_path(store))
    assert accuracy_score(test["target"], fitted.predict(test[features.columns])) > 0.9

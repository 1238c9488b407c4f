"""tabular-classification on a Hive-partitioned dataset in an S3 bucket, MLflow's artifacts in S3.

The S3 API is moto's server on 127.0.0.1 (tests/support/s3_server.py); the pipeline runs through
the command users run, ``kfp-mlops run``, under kfp.local. kfp.local keeps every task's artifacts
under a local ``pipeline_root``: ``kfp.local.init`` (kfp 2.17.0, ``kfp/local/config.py``) makes it
``os.path.abspath(pipeline_root)``, so an ``s3://`` root is not possible there; on a cluster the
artifacts go to the object store KFP is configured with.
"""

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from mlflow import MlflowClient
from support.cli_runs import run_pipeline, step_statuses

pytestmark = pytest.mark.slow


def test_a_partitioned_dataset_on_s3_runs_through_the_whole_pipeline(
    s3, breast_cancer_frame: pd.DataFrame, tmp_path: Path
):
    frame = breast_cancer_frame.assign(
        cohort=[f"c{index % 3}" for index in range(len(breast_cancer_frame))],
        site=[index % 2 for index in range(len(breast_cancer_frame))],
    )
    filesystem = s3.filesystem()
    filesystem.create_dir("lake")
    filesystem.create_dir("mlflow")
    ds.write_dataset(
        pa.Table.from_pandas(frame, preserve_index=False),
        "lake/breast_cancer",
        filesystem=filesystem,
        format="parquet",
        partitioning=["cohort", "site"],
        partitioning_flavor="hive",
        max_rows_per_file=60,
        max_rows_per_group=60,
    )
    keys = filesystem.get_file_info(pa.fs.FileSelector("lake/breast_cancer", recursive=True))
    assert len([key for key in keys if key.type == pa.fs.FileType.File]) >= 12
    # MLflow's artifact store is the bucket: the experiment the pipeline logs to is made first.
    MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").create_experiment(
        "kfp-mlops", artifact_location="s3://mlflow/kfp-mlops"
    )

    code, summary = run_pipeline(
        "tabular-classification",
        tmp_path,
        [f"data_uri={s3.uri('lake/breast_cancer')}", "target_column=target"],
    )

    assert code == 0, summary.get("error")
    steps = step_statuses(summary)
    for step in ("ingest-dataset", "validate-dataset", "split-dataset", "train-sklearn"):
        assert steps[step] == "succeeded"
    assert steps["register-model-with-card"] == steps["serve-check"] == "succeeded"
    assert summary["registry"]["model_version"] == "1"
    stored = filesystem.get_file_info(pa.fs.FileSelector("mlflow/kfp-mlops", recursive=True))
    assert any(info.path.endswith("MLmodel") for info in stored)

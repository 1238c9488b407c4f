"""Training fixtures: a small table mixing every column kind the preprocessing handles."""

import datetime
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from kfp_mlops.components.common.tables import write_parquet


def mixed_table(rows: int, seed: int) -> pa.Table:
    """Numbers with gaps, an int, a bool, text with gaps, a timestamp; label 'yes' or 'no'."""
    generator = np.random.default_rng(seed)
    amount = generator.normal(50.0, 10.0, rows)
    count = generator.integers(0, 10, rows)
    flag = generator.random(rows) < 0.5
    colour = generator.choice(["red", "green", "blue"], rows)
    score = amount + 8.0 * (colour == "red") + 5.0 * flag + generator.normal(0.0, 3.0, rows)
    label = np.where(score > np.median(score), "yes", "no")
    amount_with_gaps = [None if i % 9 == 0 else float(v) for i, v in enumerate(amount)]
    colour_with_gaps = [None if i % 11 == 0 else str(v) for i, v in enumerate(colour)]
    start = datetime.datetime(2024, 1, 1)
    return pa.table(
        {
            "amount": pa.array(amount_with_gaps, pa.float64()),
            "count": pa.array(count, pa.int64()),
            "flag": pa.array(flag, pa.bool_()),
            "colour": pa.array(colour_with_gaps, pa.string()),
            "seen_at": pa.array(
                [start + datetime.timedelta(hours=i) for i in range(rows)], pa.timestamp("s")
            ),
            "label": pa.array(label, pa.string()),
        }
    )


@pytest.fixture(scope="session")
def mixed_splits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Train (300 rows) and test (100 rows) Parquet files of :func:`mixed_table`."""
    folder = tmp_path_factory.mktemp("mixed")
    paths = {"train": folder / "train.parquet", "test": folder / "test.parquet"}
    write_parquet(mixed_table(300, seed=1), paths["train"])
    write_parquet(mixed_table(100, seed=2), paths["test"])
    return paths


def task_outputs(root: Path, task: str) -> dict:
    """The executor output kfp.local wrote for ``task`` (the only run under ``root``)."""
    (path,) = root.glob(f"*/{task}/executor_output.json")
    return json.loads(path.read_text(encoding="utf-8"))

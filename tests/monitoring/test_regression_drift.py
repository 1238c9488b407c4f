"""Drift on regression data: diabetes' features, its continuous target left out as the label."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.datasets import load_diabetes

from kfp_mlops.components.monitoring.drift import compare_datasets


def _halves() -> tuple[pa.Table, pa.Table]:
    frame = load_diabetes(as_frame=True).frame.sample(frac=1.0, random_state=0)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table.slice(0, 221), table.slice(221)


def test_two_halves_of_diabetes_do_not_drift():
    reference, current = _halves()
    result = compare_datasets(reference, current, exclude_columns=["target"])
    assert [feature.name for feature in result.features] == [
        name for name in reference.column_names if name != "target"
    ]
    assert result.drift_detected is False


def test_a_shifted_feature_drifts_and_the_target_is_not_compared():
    reference, current = _halves()
    bmi = current.column("bmi")
    shifted = pc.add(bmi, float(np.std(reference.column("bmi").to_numpy())))
    current = current.set_column(current.column_names.index("bmi"), "bmi", shifted)
    result = compare_datasets(reference, current, exclude_columns=["target"])
    assert result.drift_detected is True
    assert result.drifted_features == ["bmi"]
    assert "target" not in [feature.name for feature in result.features]

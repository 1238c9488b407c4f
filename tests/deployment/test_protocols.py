"""Request bodies of the three forms users send, and reading the answers."""

import json

import numpy as np
import pandas as pd
import pytest

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.protocols import (
    PROTOCOLS,
    v1_answer,
    v1_pandas_body,
    v1_rows_body,
    v2_answer,
    v2_body,
    v2_datatype,
)


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "radius": [14.5, np.nan],
            "count": np.array([3, 4], dtype=np.int32),
            "band": ["large", None],
            "flag": [True, False],
        }
    )


def test_v1_rows_are_lists_in_column_order_with_null_for_missing(frame):
    body = v1_rows_body(frame, "unused")

    assert body == {"instances": [[14.5, 3, "large", True], [None, 4, None, False]]}
    json.dumps(body, allow_nan=False)


def test_v1_pandas_form_is_one_instance_of_columns(frame):
    body = v1_pandas_body(frame, "unused")

    assert body == {
        "instances": [
            {
                "radius": [14.5, None],
                "count": [3, 4],
                "band": ["large", None],
                "flag": [True, False],
            }
        ]
    }


def test_v2_body_has_id_pandas_content_type_and_typed_tensors(frame):
    body = v2_body(frame, "request-7")

    assert body["id"] == "request-7"
    assert body["parameters"] == {"content_type": "pd"}
    assert [(i["name"], i["datatype"], i["shape"]) for i in body["inputs"]] == [
        ("radius", "FP64", [2]),
        ("count", "INT32", [2]),
        ("band", "BYTES", [2]),
        ("flag", "BOOL", [2]),
    ]
    assert body["inputs"][0]["data"] == [14.5, None]
    json.dumps(body, allow_nan=False)


def test_dates_are_refused_naming_the_column():
    dates = pd.Series(pd.to_datetime(["2024-01-01"]), name="admitted")

    with pytest.raises(ComponentInputError, match="column 'admitted' holds datetime64"):
        v2_datatype(dates)


def test_answers_are_read_in_their_shape():
    assert v1_answer({"predictions": [1, 0]}).tolist() == [1, 0]
    v2 = {
        "outputs": [{"name": "output-0", "shape": [2, 2], "datatype": "FP64", "data": [1, 0, 0, 1]}]
    }
    assert v2_answer(v2).tolist() == [[1, 0], [0, 1]]


def test_endpoints_follow_kserve_paths():
    paths = {protocol.name: protocol.path("cancer") for protocol in PROTOCOLS}

    assert paths == {
        "v1-rows": "/v1/models/cancer:predict",
        "v1-pandas": "/v1/models/cancer:predict",
        "v2": "/v2/models/cancer/infer",
    }

"""The Model artifact's directory: one model file that our restricted loader accepts."""

import joblib
import joblib.numpy_pickle
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.model_io import (
    MODEL_FILE,
    load_sklearn_model,
    model_file,
)
from kfp_mlops.components.training.train import train_to_directory

# Our restricted unpickler (model_loading.py; the stock KServe runtime has none) allows any class
# under these packages, numpy's reconstruction functions, and some standard container types.
SCIENTIFIC_PACKAGES = ("sklearn", "numpy", "scipy", "pandas", "joblib")
RECONSTRUCTORS = {
    "_reconstruct",
    "scalar",
    "_frombuffer",
    "__bit_generator_ctor",
    "__generator_ctor",
    "__randomstate_ctor",
}
STANDARD_NAMES = {
    "builtins": {"object", "list", "dict", "set", "frozenset", "tuple", "bytearray", "bytes",
                 "str", "int", "float", "bool", "complex", "slice", "range"},
    "collections": {"OrderedDict", "defaultdict", "Counter", "deque"},
    "copyreg": {"_reconstructor", "__newobj__", "__newobj_ex__"},
    "_codecs": {"encode"},
}  # fmt: skip


def refused_globals(path) -> list[str]:
    """The globals a pickle references that our restricted unpickler would refuse."""
    refused = []

    class Recording(joblib.numpy_pickle.NumpyUnpickler):
        def find_class(self, module, name):
            found = super().find_class(module, name)
            if module.split(".")[0] in SCIENTIFIC_PACKAGES:
                allowed = (
                    isinstance(found, type)
                    or name in RECONSTRUCTORS
                    or name == "newObj"
                    or name.startswith("__pyx_unpickle_")
                )
            else:
                allowed = name in STANDARD_NAMES.get(module, set())
            if not allowed:
                refused.append(f"{module}.{name}")
            return found

    original = joblib.numpy_pickle.NumpyUnpickler
    joblib.numpy_pickle.NumpyUnpickler = Recording
    try:
        joblib.load(path)
    finally:
        joblib.numpy_pickle.NumpyUnpickler = original
    return refused


@pytest.mark.parametrize(
    "estimator", ["logistic_regression", "random_forest", "hist_gradient_boosting"]
)
def test_trained_model_references_only_what_kserve_may_unpickle(estimator, mixed_splits, tmp_path):
    train_to_directory(str(mixed_splits["train"]), str(tmp_path / "model"), "label", estimator)
    assert refused_globals(tmp_path / "model" / MODEL_FILE) == []


def test_the_allow_list_check_refuses_a_function(tmp_path):
    joblib.dump(FunctionTransformer(np.log1p), tmp_path / "model.joblib")
    assert refused_globals(tmp_path / "model.joblib") != []


def test_dump_then_load_round_trip(tmp_path):
    model = Pipeline([("scale", StandardScaler()), ("classifier", LogisticRegression())])
    model.fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    (tmp_path / "model").mkdir()
    joblib.dump(model, tmp_path / "model" / MODEL_FILE)
    assert model_file(tmp_path / "model") == tmp_path / "model" / MODEL_FILE
    assert load_sklearn_model(tmp_path / "model").predict([[3.0]]).tolist() == [1]


def test_missing_directory(tmp_path):
    with pytest.raises(ComponentInputError, match="model directory not found"):
        load_sklearn_model(tmp_path / "absent")


def test_a_file_instead_of_a_directory(tmp_path):
    (tmp_path / "model.joblib").write_bytes(b"x")
    with pytest.raises(ComponentInputError, match="is a file; a Model artifact is a directory"):
        model_file(tmp_path / "model.joblib")


def test_a_directory_without_a_model_file(tmp_path):
    (tmp_path / "README.md").write_text("not a model")
    with pytest.raises(
        ComponentInputError, match=r"holds no model file \(.joblib, .pkl, .pickle\)"
    ):
        model_file(tmp_path)


def test_two_model_files_are_refused_as_the_sklearn_runtime_does(tmp_path):
    joblib.dump(LogisticRegression(), tmp_path / "a.joblib")
    joblib.dump(LogisticRegression(), tmp_path / "b.pkl")
    with pytest.raises(ComponentInputError, match=r"holds 2 model files \(a.joblib, b.pkl\)"):
        load_sklearn_model(tmp_path)


def test_a_corrupt_model_file(tmp_path):
    (tmp_path / MODEL_FILE).write_bytes(b"definitely not a pickle")
    with pytest.raises(ComponentInputError, match=r"cannot load .* as a joblib model"):
        load_sklearn_model(tmp_path)


def test_a_model_file_without_predict_proba(tmp_path):
    joblib.dump(StandardScaler(), tmp_path / MODEL_FILE)
    with pytest.raises(ComponentInputError, match="holds a StandardScaler, not a classifier"):
        load_sklearn_model(tmp_path)

"""The model directory rules of the KServe sklearn runtime, and our own restricted unpickling."""

import importlib
import io
import os
import pickle
from typing import ClassVar

import joblib
import numpy as np
import numpy.ma
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.model_loading import (
    ALLOWED_RECONSTRUCTORS,
    find_model_file,
    load_model_dir,
    load_model_file,
)
from kfp_mlops.components.common.tables import read_parquet


class WritesSentinel:
    """Unpickling it runs ``os.system`` (which would create the sentinel file)."""

    def __init__(self, sentinel) -> None:
        self.sentinel = sentinel

    def __reduce__(self):
        return (os.system, (f"touch {self.sentinel}",))


class NumpyLoadGadget:
    """Unpickling it calls ``numpy.load``, a function under an allowed package."""

    def __init__(self, target) -> None:
        self.target = target

    def __reduce__(self):
        return (np.load, (self.target, None, True))


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_model_loads_and_predicts_as_joblib_does(breast_cancer_model, breast_cancer_splits):
    folder, metadata = breast_cancer_model
    test = read_parquet(breast_cancer_splits["test"]).to_pandas()[metadata["feature_columns"]]

    restricted = load_model_dir(folder)

    assert isinstance(restricted, Pipeline)
    expected = joblib.load(folder / "model.joblib").predict(test)
    np.testing.assert_array_equal(restricted.predict(test), expected)
    np.testing.assert_array_equal(restricted.predict(test.to_numpy()), expected)


@pytest.mark.parametrize("suffix", [".joblib", ".pkl", ".pickle"])
def test_any_runtime_suffix_is_the_model_file(tmp_path, suffix):
    joblib.dump(StandardScaler(), tmp_path / f"estimator{suffix}")
    (tmp_path / "README.md").write_text("not a model")

    assert find_model_file(tmp_path) == tmp_path / f"estimator{suffix}"


def test_directory_without_model_file_is_refused(tmp_path):
    (tmp_path / "model.txt").write_text("not a model")

    with pytest.raises(ComponentInputError, match=r"holds no model file \(\.joblib, \.pkl"):
        load_model_dir(tmp_path)


def test_directory_with_two_model_files_is_refused_naming_both(tmp_path):
    joblib.dump(StandardScaler(), tmp_path / "model.joblib")
    joblib.dump(StandardScaler(), tmp_path / "old.pkl")

    with pytest.raises(
        ComponentInputError, match=r"holds 2 model files \(model\.joblib, old\.pkl\)"
    ):
        load_model_dir(tmp_path)


def test_missing_directory_is_refused(tmp_path):
    with pytest.raises(ComponentInputError, match="model directory not found"):
        load_model_dir(tmp_path / "absent")


def test_function_transformer_is_refused_naming_the_function(tmp_path):
    joblib.dump(Pipeline([("log", FunctionTransformer(np.log1p))]), tmp_path / "model.joblib")

    with pytest.raises(ComponentInputError, match=r"refers to numpy\.log1p, which kfp-mlops"):
        load_model_dir(tmp_path)


def test_os_system_payload_is_refused_and_never_runs(tmp_path):
    sentinel = tmp_path / "pwned"
    joblib.dump(WritesSentinel(sentinel), tmp_path / "model.joblib")

    with pytest.raises(ComponentInputError, match=r"refers to posix\.system"):
        load_model_dir(tmp_path)
    assert not sentinel.exists()


def test_payload_inside_an_object_array_is_refused(tmp_path):
    sentinel = tmp_path / "pwned"
    nested = {"weights": np.array([WritesSentinel(sentinel)], dtype=object)}
    joblib.dump(nested, tmp_path / "model.joblib")

    with pytest.raises(ComponentInputError, match=r"refers to posix\.system"):
        load_model_dir(tmp_path)
    assert not sentinel.exists()


def test_function_under_an_allowed_package_is_refused(tmp_path):
    sentinel = tmp_path / "pwned"
    stage_two = tmp_path / "stage_two.npy"
    np.save(stage_two, np.array([WritesSentinel(sentinel)], dtype=object), allow_pickle=True)
    joblib.dump(NumpyLoadGadget(str(stage_two)), tmp_path / "model.joblib")

    with pytest.raises(ComponentInputError, match=r"refers to numpy\.load"):
        load_model_dir(tmp_path)
    assert not sentinel.exists()


def test_file_that_is_not_a_pickle_is_refused(tmp_path):
    (tmp_path / "model.joblib").write_text("hello, I am not a pickle")

    with pytest.raises(ComponentInputError, match=r"cannot load model file .*model\.joblib"):
        load_model_file(tmp_path / "model.joblib")


def test_loading_restores_joblibs_own_unpickler(tmp_path):
    original = joblib.numpy_pickle.NumpyUnpickler
    joblib.dump(WritesSentinel(tmp_path / "pwned"), tmp_path / "model.joblib")

    with pytest.raises(ComponentInputError):
        load_model_dir(tmp_path)
    assert joblib.numpy_pickle.NumpyUnpickler is original


def numpy_values() -> list:
    """One of each kind of value numpy pickles: arrays, scalars, dtypes, masked, random."""
    return [
        np.arange(6.0).reshape(2, 3).T,
        np.array([1, "a", None], dtype=object),
        np.array(["text"]),
        np.array(["text"], dtype=np.dtypes.StringDType()),
        np.zeros(2, dtype=[("a", "i4"), ("b", "f8")]),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
        np.array([1 + 2j]),
        np.float64(1.5),
        np.int64(2),
        np.bool_(True),
        np.str_("x"),
        np.float16(1.0),
        np.timedelta64(1, "s"),
        np.void(b"ab"),
        np.dtype("f8"),
        type(np.dtype("f8")),
        numpy.ma.masked_array([1, 2], mask=[0, 1]),
        np.random.default_rng(0),
        np.random.RandomState(0),
        np.random.PCG64(0),
    ]


class RecordingUnpickler(pickle.Unpickler):
    """pickle's own unpickler, recording the numpy functions (not classes) a pickle names."""

    functions: ClassVar[set[tuple[str, str]]] = set()

    def find_class(self, module, name):
        found = super().find_class(module, name)
        if module.split(".")[0] == "numpy" and not isinstance(found, type):
            self.functions.add((module, name))
        return found


def test_every_reconstruction_numpy_emits_is_admitted(tmp_path):
    """The allow-list is derived from what numpy itself pickles, at every protocol."""
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        for value in numpy_values():
            data = pickle.dumps(value, protocol=protocol)
            RecordingUnpickler(io.BytesIO(data)).load()
            (tmp_path / "model.pkl").write_bytes(data)
            loaded = load_model_file(tmp_path / "model.pkl")
            assert type(loaded) is type(value)

    # Cython's __pyx_unpickle_* helpers (SeedSequence) are admitted by name pattern instead.
    emitted = {(m, n) for m, n in RecordingUnpickler.functions if "__pyx_unpickle_" not in n}
    assert ("numpy._core.numeric", "_frombuffer") in emitted  # protocol 5 arrays
    assert emitted <= ALLOWED_RECONSTRUCTORS, emitted - ALLOWED_RECONSTRUCTORS


@pytest.mark.filterwarnings("ignore:numpy.core:DeprecationWarning")
def test_every_allowed_reconstructor_exists_in_this_numpy():
    for module, name in ALLOWED_RECONSTRUCTORS:
        assert callable(getattr(importlib.import_module(module), name)), f"{module}.{name}"


@pytest.mark.filterwarnings("ignore:numpy.core:DeprecationWarning")
def test_the_numpy_1_ufunc_importer_is_refused(tmp_path):
    """numpy.core._ufunc_reconstruct imports any module: an os.system in disguise."""

    class Gadget:
        def __reduce__(self):
            return (numpy.core._ufunc_reconstruct, ("os", "system"))

    (tmp_path / "model.pkl").write_bytes(pickle.dumps(Gadget()))
    with pytest.raises(ComponentInputError, match=r"refers to numpy\.core\._ufunc_reconstruct"):
        load_model_file(tmp_path / "model.pkl")

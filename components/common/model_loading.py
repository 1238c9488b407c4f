"""Find and load a model directory's one model file, refusing any that would run code on load.

The stock KServe sklearn runtime (``kserve-sklearnserver``) loads exactly one
``*.joblib``/``*.pkl``/``*.pickle`` file from the model directory with plain ``joblib.load``
(kserve@aaac4e2 ``python/sklearnserver/sklearnserver/model.py``, ``SKLearnModel.load``): it refuses
nothing. The restricted unpickling here is OUR defence, applied wherever this library loads a
model file (serve-check, local serving, evaluation, registration, registry reads): classes defined
under sklearn, numpy, scipy, pandas and joblib, the reconstruction helpers numpy 2 pickles arrays,
scalars, dtypes, masked arrays and random generators with (see :data:`ALLOWED_RECONSTRUCTORS`),
Cython's ``__pyx_unpickle_*`` helpers, and a few builtin container and scalar types. Every other
global, functions such as ``numpy.load`` or ``os.system`` included, is refused before it is
imported or called. A model that loads here also loads under the stock runtime; one that would
run code on load is stopped here, before it reaches a cluster.

A PyTorch Model directory (``train_pytorch``, recognized by its manifest) is the exception: its
model file is the ONNX export (``model/1/model.onnx``, what KServe's Triton runtime serves), loaded
with ONNX Runtime behind the same ``predict``/``predict_proba`` (``predict`` alone for a regressor;
``common.torch_artifact``).
"""

import pickle
import threading
from pathlib import Path
from typing import Any

import joblib.numpy_pickle

from kfp_mlops.components.common import model_io, torch_artifact
from kfp_mlops.components.common.errors import ComponentInputError

ALLOWED_PACKAGES = ("sklearn", "numpy", "scipy", "pandas", "joblib")
"""Top-level packages whose classes a model file may reference."""

ALLOWED_RECONSTRUCTORS = frozenset(
    {
        # numpy 2.4 (numpy/_core/src/multiarray/methods.c, array_reduce_ex): an ndarray pickles
        # as _reconstruct (protocols 0-4) or, out of band at protocol 5, as numeric._frombuffer.
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.numeric", "_frombuffer"),
        # scalartypes.c, gentype_reduce: a numpy scalar (np.float64(1.0)...).
        ("numpy._core.multiarray", "scalar"),
        # numpy/_core/__init__.py: a legacy DType class; _internal.py: a StringDType.
        ("numpy._core", "_DType_reconstruct"),
        ("numpy._core._internal", "_convert_to_stringdtype_kwargs"),
        # numpy/ma/core.py, MaskedArray.__reduce__.
        ("numpy.ma.core", "_mareconstruct"),
        # numpy/random/_pickle.py: Generator, RandomState and bit generators.
        ("numpy.random._pickle", "__bit_generator_ctor"),
        ("numpy.random._pickle", "__generator_ctor"),
        ("numpy.random._pickle", "__randomstate_ctor"),
        # The same helpers under numpy 1.x names (numpy/core/ re-exports them for old pickles).
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
    }
)
"""Functions under the allowed packages that rebuild arrays, scalars, dtypes and random generators.

Only numpy's own reconstruction helpers, which build a value from its parts and call nothing the
pickle names; ``numpy.core._ufunc_reconstruct`` is left out on purpose: it imports any module.
"""

ALLOWED_NAMES = {
    "builtins": frozenset(
        {
            "bool",
            "bytearray",
            "bytes",
            "complex",
            "dict",
            "float",
            "frozenset",
            "int",
            "list",
            "object",
            "range",
            "set",
            "slice",
            "str",
            "tuple",
        }
    ),
    "collections": frozenset({"Counter", "OrderedDict", "defaultdict", "deque"}),
    "copyreg": frozenset({"__newobj__", "__newobj_ex__", "_reconstructor"}),
    "_codecs": frozenset({"encode"}),
}
"""Single names allowed from modules that also hold dangerous callables (``builtins.eval``)."""

_LOAD_LOCK = threading.Lock()


def _is_cython_reconstructor(name: str) -> bool:
    """Helpers Cython generates to rebuild extension-type instances (``__pyx_unpickle_*``)."""
    return name == "newObj" or name.startswith("__pyx_unpickle_")


class RestrictedUnpickler(joblib.numpy_pickle.NumpyUnpickler):
    """joblib's unpickler, refusing every global outside our allow-list (not KServe's: it has none).

    ``find_class`` resolves every global a pickle names, the callables that ``__reduce__`` results
    call included; joblib routes the nested pickles of object arrays through it as well. A refused
    global is neither imported nor called.
    """

    def find_class(self, module: str, name: str) -> Any:
        """Resolves ``module.name`` if the allow-list permits it; raises otherwise."""
        if module.split(".", 1)[0] in ALLOWED_PACKAGES:
            found = super().find_class(module, name)
            if (
                isinstance(found, type)
                or (module, name) in ALLOWED_RECONSTRUCTORS
                or _is_cython_reconstructor(name)
            ):
                return found
        elif name in ALLOWED_NAMES.get(module, ()):
            return super().find_class(module, name)
        raise ComponentInputError(
            f"model file {self.filename} refers to {module}.{name}, which kfp-mlops refuses to "
            "unpickle (it could run code on load): only classes from sklearn, numpy, scipy, pandas "
            "and joblib (and numpy's reconstruction helpers) are allowed, no functions; rebuild "
            "the model without it"
        )


def find_model_file(model_dir: str | Path) -> Path:
    """The one ``*.joblib``/``*.pkl``/``*.pickle`` file directly inside ``model_dir``.

    For a PyTorch Model directory: its ONNX export.

    Raises:
        ComponentInputError: ``model_dir`` is not a directory, or holds no model file or several.
    """
    folder = Path(model_dir)
    if folder.is_dir() and torch_artifact.is_torch_model_dir(folder):
        return folder / torch_artifact.ONNX_FILE
    return model_io.model_file(folder)


def load_model_file(path: str | Path) -> Any:
    """Unpickles the model file at ``path`` with :class:`RestrictedUnpickler`.

    The ONNX export of a PyTorch Model directory is loaded with ONNX Runtime instead.

    Raises:
        ComponentInputError: The file names a global outside the allow-list, or is not a readable
            joblib/pickle file, or needs a class that this environment lacks.
    """
    torch_dir = torch_artifact.torch_model_dir_of(path)
    if torch_dir is not None:
        return torch_artifact.load_onnx_model(torch_dir)
    # joblib.load builds its unpickler from the module global and has no parameter to choose
    # another, so the global is swapped for the duration of the load (under a lock, restored after).
    with _LOAD_LOCK:
        original = joblib.numpy_pickle.NumpyUnpickler
        joblib.numpy_pickle.NumpyUnpickler = RestrictedUnpickler
        try:
            return joblib.load(path)
        except (pickle.UnpicklingError, EOFError, ImportError, AttributeError) as error:
            raise ComponentInputError(f"cannot load model file {path}: {error}") from error
        finally:
            joblib.numpy_pickle.NumpyUnpickler = original


def load_model_dir(model_dir: str | Path) -> Any:
    """Loads the one model file of ``model_dir`` (found as the KServe sklearn runtime finds it)."""
    return load_model_file(find_model_file(model_dir))

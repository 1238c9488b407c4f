"""Re-export a stage's components without importing them when only its logic is needed.

Inside a running component, KFP sets ``_KFP_RUNTIME`` and ``kfp.dsl`` then lacks
``dsl.component``, so ``component.py`` cannot be imported there. The logic modules beside it must
stay importable, so each stage package re-exports its components lazily:
``from kfp_mlops.components import data`` followed by ``data.ingest_dataset`` imports
``component.py`` on first use.
"""

import importlib
from collections.abc import Callable, Sequence


def component_loader(package: str, names: Sequence[str]) -> Callable[[str], object]:
    """A module ``__getattr__`` loading ``names`` from ``<package>.component`` when first used."""

    def load(name: str) -> object:
        if name in names:
            return getattr(importlib.import_module(f"{package}.component"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return load

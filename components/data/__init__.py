"""Data components: ingest, validate, split.

The logic lives in ingest.py (files to Parquet with pyarrow), validate.py (schema and quality rules)
and split.py (stratified or by time). Tables, their fingerprints and atomic writes are in the shared
layer, :mod:`kfp_mlops.components.common`.
"""

from typing import TYPE_CHECKING

from kfp_mlops.components.lazy import component_loader

if TYPE_CHECKING:  # what an IDE follows; at run time the components load on first use
    from kfp_mlops.components.data.component import (
        ingest_dataset,
        resolve_data_version,
        split_dataset,
        split_regression_dataset,
        validate_dataset,
        validate_regression_dataset,
    )

__all__ = [
    "ingest_dataset",
    "resolve_data_version",
    "split_dataset",
    "split_regression_dataset",
    "validate_dataset",
    "validate_regression_dataset",
]
__getattr__ = component_loader(__name__, __all__)

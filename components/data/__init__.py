"""Data components: ingest, validate, split. The logic lives in ingest.py, validate.py, split.py."""

from kfp_mlops.components.lazy import component_loader

__all__ = ["ingest_dataset", "resolve_data_version", "split_dataset", "validate_dataset"]
__getattr__ = component_loader(__name__, __all__)

"""Registry components: log a training to MLflow and register its model; promote a champion.

The logic lives in register.py and promotion.py (champion/previous aliases, rollback);
mlflow_registry.py holds the helpers other stages use to reach MLflow and to read or move a
registered model's aliases.
"""

from kfp_mlops.components.lazy import component_loader

__all__ = ["check_champion", "promote_champion", "register_model"]
__getattr__ = component_loader(__name__, __all__)

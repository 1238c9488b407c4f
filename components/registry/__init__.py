"""Registry components: register a training's model, write its model card, promote a champion.

Registration logs the training to MLflow and registers its model; the model card is written alone
or in the same step as the registration.

The logic lives in register.py, pytorch_model.py (logging a PyTorch Model), model_card_page.py (the
card a reviewer reads) and promotion.py (champion/previous aliases, rollback). Reaching MLflow and
reading a registered model's aliases is in the shared layer
(:mod:`kfp_mlops.components.common.mlflow_registry`).
"""

from typing import TYPE_CHECKING

from kfp_mlops.components.lazy import component_loader

if TYPE_CHECKING:  # what an IDE follows; at run time the components load on first use
    from kfp_mlops.components.registry.component import (
        check_champion,
        model_card,
        promote_champion,
        register_model,
        register_model_with_card,
    )

__all__ = [
    "check_champion",
    "model_card",
    "promote_champion",
    "register_model",
    "register_model_with_card",
]
__getattr__ = component_loader(__name__, __all__)

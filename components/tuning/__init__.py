"""Tuning components: an Optuna study shared by parallel workers, pruning, and a summary report.

The logic lives in search_space.py (the search space dict: parsing, checks, sampling), scores.py
(the validation metric), trainers.py (step-by-step training that pruning can stop; where other
frameworks plug in), study.py (storage, configuration, each worker's share), worker.py (a worker's
trials) and report.py (best hyperparameters, the trials table, the HTML report).
"""

from typing import TYPE_CHECKING

from kfp_mlops.components.lazy import component_loader

if TYPE_CHECKING:  # what an IDE follows; at run time the components load on first use
    from kfp_mlops.components.tuning.component import (
        create_study,
        given_hyperparameters,
        given_regressor_hyperparameters,
        run_trials,
        summarize_study,
    )

__all__ = [
    "create_study",
    "given_hyperparameters",
    "given_regressor_hyperparameters",
    "run_trials",
    "summarize_study",
]
__getattr__ = component_loader(__name__, __all__)

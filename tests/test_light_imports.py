"""Steps that do not use scikit-learn do not import it: each task is a fresh process, so an
import a step does not use is paid on every run (see BENCHMARKS.md, issue 17)."""

import subprocess
import sys

LIGHT = (
    "kfp_mlops.components.common.metrics",
    "kfp_mlops.components.common.estimators",
    "kfp_mlops.components.evaluation.gate",
    "kfp_mlops.components.evaluation.rejection",
    "kfp_mlops.components.evaluation.champion",
    "kfp_mlops.components.registry.model_card_page",
    "kfp_mlops.components.registry.promotion",
    "kfp_mlops.components.tuning.given",
)

PROBE = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    heavy = sorted(m for m in ("sklearn", "torch", "kserve", "optuna") if m in sys.modules)
    print(name, ",".join(heavy) or "-")
"""

GIVEN_PROBE = """
import sys
from kfp_mlops.components.tuning.given import check_given
assert check_given("random_forest", None) == {}
assert check_given("ridge", {}, task="regression") == {}
print("sklearn" in sys.modules)
assert check_given("random_forest", {"n_estimators": 10.0}) == {"n_estimators": 10.0}
print("sklearn" in sys.modules)
"""


def test_the_gates_promotion_and_model_card_do_not_import_scikit_learn():
    finished = subprocess.run(
        [sys.executable, "-c", PROBE, *LIGHT], capture_output=True, text=True, timeout=300
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    imported = dict(line.split() for line in finished.stdout.splitlines())
    assert imported == dict.fromkeys(LIGHT, "-")


def test_given_hyperparameters_import_scikit_learn_only_to_check_values():
    finished = subprocess.run(
        [sys.executable, "-c", GIVEN_PROBE], capture_output=True, text=True, timeout=300
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    # No hyperparameters: the name alone is checked; given ones: the estimator is built.
    assert finished.stdout.split() == ["False", "True"]

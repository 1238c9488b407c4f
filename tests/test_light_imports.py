"""Steps that only compare metrics do not import scikit-learn: each task is a fresh process, so an
import a step does not use is paid on every run (see BENCHMARKS.md, issue 17)."""

import subprocess
import sys

LIGHT = (
    "kfp_mlops.components.common.metrics",
    "kfp_mlops.components.evaluation.gate",
    "kfp_mlops.components.evaluation.rejection",
    "kfp_mlops.components.evaluation.champion",
    "kfp_mlops.components.registry.model_card_page",
    "kfp_mlops.components.registry.promotion",
)

PROBE = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    heavy = sorted(m for m in ("sklearn", "torch", "kserve", "optuna") if m in sys.modules)
    print(name, ",".join(heavy) or "-")
"""


def test_the_gates_promotion_and_model_card_do_not_import_scikit_learn():
    finished = subprocess.run(
        [sys.executable, "-c", PROBE, *LIGHT], capture_output=True, text=True, timeout=300
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    imported = dict(line.split() for line in finished.stdout.splitlines())
    assert imported == dict.fromkeys(LIGHT, "-")

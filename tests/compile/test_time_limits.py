"""Long steps carry a time limit (the pod's activeDeadlineSeconds, kfp-kubernetes set_timeout)."""

import pytest
import yaml

from kfp_mlops.compile.compiler import compile_to_text
from kfp_mlops.components import images
from kfp_mlops.pipelines import time_limits
from kfp_mlops.pipelines.tabular_classification import tabular_classification

LIMITS = {
    "exec-train-sklearn": time_limits.TRAINING_SECONDS,
    "exec-run-trials": time_limits.TRAINING_SECONDS,
    "exec-serve-check": time_limits.SERVE_CHECK_SECONDS,
    "exec-register-model-with-card": time_limits.REGISTRY_SECONDS,
    "exec-deploy-inference-service": time_limits.DEPLOY_SECONDS,
}


@pytest.fixture(scope="module")
def executors() -> dict:
    text = compile_to_text(tabular_classification, images.DEFAULT_SETTINGS)
    _, platform = yaml.safe_load_all(text)
    return platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]


@pytest.mark.parametrize("executor", sorted(LIMITS))
def test_long_steps_have_a_time_limit(executors, executor):
    assert int(executors[executor]["activeDeadlineSeconds"]) == LIMITS[executor]

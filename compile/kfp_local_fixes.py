"""The one workaround this library applies to ``kfp.local``: a lone ``dsl.If`` on a named output.

kfp 2.17's local orchestrator evaluates a condition task's trigger in the enclosing DAG
(kfp/local/orchestrator/enhanced_dag_orchestrator.py, ``ConditionEvaluator``). Its
``_resolve_pipeline_channel`` takes a channel as a task output only when the channel's name holds
``-Output`` (the single output of a component) or ``--``; any other name is looked up as an input
of the enclosing DAG. A named output of a multi-output component, such as ``metric_gate``'s
``approved``, compiles to the channel ``pipelinechannel--metric-gate-approved``: it is neither, the
lookup fails ("Could not resolve parent input: metric-gate-approved"), the condition counts as
false and the branch is skipped while the run reports SUCCESS. With a ``dsl.Else`` the same
condition works, because the compiler then wraps both branches in a sub-DAG that receives the
output as one of its inputs.

:func:`named_output_conditions` makes that lookup fall back to the task output that the channel
names (a channel is ``<task name>-<output name>``, and an output name is a Python identifier, so it
is everything after the last hyphen). :func:`kfp_mlops.compile.local_run.run_locally` (what
``kfp-mlops run`` runs, and what a data scientist calls to run their own pipeline) applies it.
``tests/compile/test_kfp_local_fixes.py`` checks that kfp still needs it, and fails, saying this
module can go, once kfp.local runs such a branch on its own.
"""

import contextlib
from collections.abc import Iterator
from typing import Any

from kfp.local import io
from kfp.local.orchestrator.enhanced_dag_orchestrator import ConditionEvaluator

_PREFIX = "pipelinechannel--"


def _resolver(original: Any) -> Any:
    def resolve(channel_ref: str, io_store: io.IOStore) -> Any:
        name = channel_ref.replace(_PREFIX, "")
        if "-Output" in name or "--" in name:
            return original(channel_ref, io_store)
        for key in (name, f"{_PREFIX}{name}", channel_ref):
            with contextlib.suppress(ValueError, KeyError):
                return io_store.get_parent_input(key)
        task, _, output = name.rpartition("-")
        with contextlib.suppress(ValueError, KeyError):
            return io_store.get_task_output(task, output)
        return original(channel_ref, io_store)  # unresolved: kfp's own warning and None

    return resolve


@contextlib.contextmanager
def named_output_conditions() -> Iterator[None]:
    """Within this block, kfp.local resolves conditions on named task outputs (see the module)."""
    original = ConditionEvaluator._resolve_pipeline_channel
    ConditionEvaluator._resolve_pipeline_channel = staticmethod(_resolver(original))
    try:
        yield
    finally:
        ConditionEvaluator._resolve_pipeline_channel = staticmethod(original)

"""A lone dsl.If on a named output under kfp.local: broken upstream, run by our workaround."""

from pathlib import Path
from typing import NamedTuple

import pytest
from kfp import dsl

from kfp_mlops.compile.kfp_local_fixes import named_output_conditions


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def decide(approve: bool) -> NamedTuple("Outputs", [("approved", bool), ("reason", str)]):
    """A gate's shape: two named outputs."""
    from collections import namedtuple

    return namedtuple("Outputs", ["approved", "reason"])(approve, "asked to")


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def branch() -> str:
    """What the approved branch runs."""
    return "ran"


@dsl.pipeline(name="lone-if")
def lone_if(approve: bool):
    gate = decide(approve=approve)
    with dsl.If(gate.outputs["approved"] == True):  # noqa: E712
        branch()


def _ran(pipeline_root: Path, task: str) -> bool:
    return any(pipeline_root.glob(f"*/{task}/executor_output.json"))


def test_kfp_local_still_skips_a_lone_if_on_a_named_output(local_runner: Path):
    """Fails once kfp fixes the bug: then compile/kfp_local_fixes.py and its use can go."""
    lone_if(approve=True)
    assert _ran(local_runner, "decide")
    assert not _ran(local_runner, "branch"), (
        "kfp.local now runs a lone dsl.If on a named output by itself: remove the workaround "
        "(compile/kfp_local_fixes.py and its use in compile/local_run.py)"
    )


@pytest.mark.parametrize("approve", [True, False])
def test_with_the_workaround_the_branch_runs_exactly_when_approved(
    local_runner: Path, approve: bool
):
    with named_output_conditions():
        lone_if(approve=approve)
    assert _ran(local_runner, "decide")
    assert _ran(local_runner, "branch") is approve

"""A gate's decision is a record: once made, neither it nor a check in it can be changed.

(Added for the surviving mutant ``frozen=False`` of gate.py, see MUTATION.md.)
"""

import dataclasses

import pytest

from kfp_mlops.components.evaluation.gate import decide


def test_a_decision_and_its_checks_cannot_be_altered_after_the_fact():
    decision = decide({"accuracy": 0.8}, {"accuracy": 0.9})
    (check,) = decision.checks

    assert not decision.approved and not check.passed
    with pytest.raises(dataclasses.FrozenInstanceError):
        check.passed = True
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.approved = True
    assert check.margin == pytest.approx(-0.1)

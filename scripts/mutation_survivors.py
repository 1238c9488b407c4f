"""Prints the surviving mutants of a cosmic-ray session, one block each: operator, line, diff.

Usage: python scripts/mutation_survivors.py mutation/MODULE.sqlite (scripts/mutation.sh calls it).
"""

import sys

from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome


def main(session: str) -> int:
    """Prints the score of ``session`` and its surviving mutants as diffs; returns 0."""
    with use_db(session, WorkDB.Mode.open) as db:
        items = list(db.completed_work_items)
        survived = [
            (job, result) for job, result in items if result.test_outcome == TestOutcome.SURVIVED
        ]
        killed = sum(result.test_outcome == TestOutcome.KILLED for _, result in items)
        incompetent = sum(result.test_outcome == TestOutcome.INCOMPETENT for _, result in items)
        tested = killed + len(survived)
        score = f"{killed / tested:.1%}" if tested else "n/a"
        print(
            f"# {db.num_work_items} mutants, {tested} tested: {killed} killed, "
            f"{len(survived)} survived (score {score}); {incompetent} incompetent, "
            f"{len(items) - tested - incompetent} skipped by the operator filter"
        )
        for job, result in sorted(survived, key=lambda item: item[0].mutations[0].start_pos):
            mutation = job.mutations[0]
            print(
                f"\n## {mutation.operator_name} line {mutation.start_pos[0]} "
                f"(occurrence {mutation.occurrence}, in {mutation.definition_name})"
            )
            print(result.diff)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

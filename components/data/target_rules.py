"""Validation rules for a regression target, beside validate.py's rules for a class label.

A regression target must be numeric (integers or floats; not text, not booleans), finite (no NaN,
no infinity), not constant, and not look like a class label: whole numbers with at most
:data:`.target_summary.MAX_LABEL_VALUES` distinct values (``0``/``1``, ``0``/``1``/``2``) are
refused with a pointer to the tabular-classification pipeline. Its missing values are checked by
validate.py's "target has no missing values" rule, which both tasks share; no class-balance rule
applies. The values are summarized a batch at a time (:mod:`.target_summary`).
"""

from kfp_mlops.components.data.target_summary import MAX_LABEL_VALUES, TargetSummary
from kfp_mlops.components.data.validate import Finding

CLASSIFICATION_HINT = "for class labels use the tabular-classification pipeline"


def regression_target_findings(target: str, summary: TargetSummary) -> list[Finding]:
    """The regression rules' outcomes for the target column ``target``.

    Args:
        target: The target column's name.
        summary: What validation gathered of its values, a batch at a time.

    Returns:
        One Finding per rule: numeric; then, for a numeric target, finite, not constant and not a
        class label.
    """
    findings = [
        Finding(
            rule="regression target is numeric",
            subject=target,
            passed=summary.numeric,
            observed=str(summary.data_type),
            limit="integer or float",
            problem=(
                f"target column {target!r} is {summary.data_type}, not numeric: a regression "
                f"target must be a number; {CLASSIFICATION_HINT}"
            ),
        )
    ]
    if not summary.numeric:
        return findings
    nan, infinite = summary.nan, summary.infinite
    findings.append(
        Finding(
            rule="regression target is finite",
            subject=target,
            passed=nan + infinite == 0,
            observed=f"{nan} NaN, {infinite} infinite",
            limit="0",
            problem=f"target column {target!r} has {nan} NaN and {infinite} infinite values",
        )
    )
    distinct = sorted(summary.distinct)
    count = f"more than {MAX_LABEL_VALUES}" if summary.many_distinct else str(len(distinct))
    findings.append(
        Finding(
            rule="regression target is not constant",
            subject=target,
            passed=not summary.constant,
            observed=f"{count} distinct value(s)",
            limit=">= 2",
            problem=(
                f"target column {target!r} is constant ({distinct[0]:g})"
                if distinct
                else f"target column {target!r} has no finite values"
            )
            + ": there is nothing to predict",
        )
    )
    if not summary.constant:
        shown = ", ".join(f"{value:g}" for value in distinct[:MAX_LABEL_VALUES])
        findings.append(
            Finding(
                rule="regression target is not a class label",
                subject=target,
                passed=not summary.label_like,
                observed=f"{count} distinct {'whole numbers' if summary.whole else 'values'}",
                limit=f"> {MAX_LABEL_VALUES} distinct whole numbers, or fractions",
                problem=(
                    f"target column {target!r} holds only {len(distinct)} distinct whole numbers "
                    f"({shown}): it looks like a class label, not a quantity; "
                    f"{CLASSIFICATION_HINT}"
                ),
            )
        )
    return findings

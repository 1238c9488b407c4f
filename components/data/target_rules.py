"""Validation rules for a regression target, beside validate.py's rules for a class label.

A regression target must be numeric (integers or floats; not text, not booleans), finite (no NaN,
no infinity), not constant, and not look like a class label: whole numbers with at most
:data:`MAX_LABEL_VALUES` distinct values (``0``/``1``, ``0``/``1``/``2``) are refused with a pointer
to the tabular-classification pipeline. Its missing values are checked by validate.py's "target has
no missing values" rule, which both tasks share; no class-balance rule applies.
"""

import numpy as np
import pyarrow as pa

from kfp_mlops.components.data.validate import Finding

MAX_LABEL_VALUES = 10
"""A whole-number target with at most this many distinct values reads as a class label."""

CLASSIFICATION_HINT = "for class labels use the tabular-classification pipeline"


def _numeric(column: pa.ChunkedArray) -> bool:
    return pa.types.is_integer(column.type) or pa.types.is_floating(column.type)


def regression_target_findings(target: str, column: pa.ChunkedArray) -> list[Finding]:
    """The regression rules' outcomes for the target column ``target``.

    Args:
        target: The target column's name.
        column: Its values.

    Returns:
        One Finding per rule: numeric; then, for a numeric target, finite, not constant and not a
        class label.
    """
    numeric = _numeric(column)
    findings = [
        Finding(
            rule="regression target is numeric",
            subject=target,
            passed=numeric,
            observed=str(column.type),
            limit="integer or float",
            problem=(
                f"target column {target!r} is {column.type}, not numeric: a regression target "
                f"must be a number; {CLASSIFICATION_HINT}"
            ),
        )
    ]
    if not numeric:
        return findings
    values = column.drop_null().to_numpy().astype(np.float64)
    nan = int(np.count_nonzero(np.isnan(values)))
    infinite = int(np.count_nonzero(np.isinf(values)))
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
    distinct = np.unique(values[np.isfinite(values)])
    findings.append(
        Finding(
            rule="regression target is not constant",
            subject=target,
            passed=len(distinct) >= 2,
            observed=f"{len(distinct)} distinct value(s)",
            limit=">= 2",
            problem=(
                f"target column {target!r} is constant ({distinct[0]:g})"
                if len(distinct)
                else f"target column {target!r} has no finite values"
            )
            + ": there is nothing to predict",
        )
    )
    if len(distinct) >= 2:
        whole = bool(np.all(distinct == np.round(distinct)))
        label_like = whole and len(distinct) <= MAX_LABEL_VALUES
        shown = ", ".join(f"{value:g}" for value in distinct[:MAX_LABEL_VALUES])
        findings.append(
            Finding(
                rule="regression target is not a class label",
                subject=target,
                passed=not label_like,
                observed=f"{len(distinct)} distinct {'whole numbers' if whole else 'values'}",
                limit=f"> {MAX_LABEL_VALUES} distinct whole numbers, or fractions",
                problem=(
                    f"target column {target!r} holds only {len(distinct)} distinct whole numbers "
                    f"({shown}): it looks like a class label, not a quantity; "
                    f"{CLASSIFICATION_HINT}"
                ),
            )
        )
    return findings

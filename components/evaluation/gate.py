"""The deploy gate: compare a Metrics artifact with thresholds and record the decision as Markdown.

Rules (the gate fails closed):

- A threshold is a minimum (``observed >= threshold`` passes), except for lower-is-better metrics
  (:data:`LOWER_IS_BETTER`, e.g. ``log_loss``), where it is a maximum (``observed <= threshold``).
  Equality passes.
- Every numeric entry of the Metrics artifact's metadata is a metric a threshold may name (so
  ``test_rows`` can set a minimum test-set size); text entries such as the test fingerprint are not.
- A threshold naming a metric the artifact lacks, or a metric that is NaN or infinite, fails.
- No thresholds at all means not approved: there is nothing to approve against.
- A malformed threshold (not a finite number) is an input error and fails the step, rather than
  quietly rejecting the model.
"""

import dataclasses
import difflib
import math

from kfp_mlops.components.common.atomic import write_text
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.metrics import LOWER_IS_BETTER
from kfp_mlops.components.common.regression_metrics import check_thresholds_for_task

NO_THRESHOLDS = "no thresholds given: nothing to approve against"


@dataclasses.dataclass(frozen=True)
class Check:
    """One threshold against the observed metric.

    ``margin`` is positive by how much the metric passed and negative by how much it failed; it is
    None when the metric is missing or not a finite number.
    """

    metric: str
    threshold: float
    observed: float | None
    passed: bool
    margin: float | None
    reason: str

    @property
    def comparison(self) -> str:
        """``>=`` for a minimum, ``<=`` for a maximum."""
        return "<=" if self.metric in LOWER_IS_BETTER else ">="


@dataclasses.dataclass(frozen=True)
class GateDecision:
    """Whether the model is approved, and one line per threshold saying why."""

    approved: bool
    checks: list[Check]
    reasons: list[str]

    def to_markdown(self) -> str:
        """The decision, and a table of metric / threshold / observed / margin / result."""
        verdict = "APPROVED" if self.approved else "NOT APPROVED"
        failed = sum(not check.passed for check in self.checks)
        if self.approved:
            summary = f"All {len(self.checks)} threshold(s) met."
        elif self.checks:
            summary = f"{failed} of {len(self.checks)} threshold(s) failed."
        else:
            summary = "No thresholds were given, so nothing approves the model."
        lines = [f"# Metric gate: {verdict}", "", summary, ""]
        if self.checks:
            lines += [
                "| metric | threshold | observed | margin | result |",
                "| --- | --- | --- | --- | --- |",
            ]
            for check in self.checks:
                observed = "missing" if check.observed is None else _number(check.observed)
                margin = "" if check.margin is None else f"{check.margin:+.4f}"
                result = "pass" if check.passed else "**FAIL**"
                lines.append(
                    f"| {check.metric} | {check.comparison} {_number(check.threshold)} "
                    f"| {observed} | {margin} | {result} |"
                )
            lines.append("")
        lines += ["## Reasons", ""] + [f"- {reason}" for reason in self.reasons]
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return f"{value:.4f}"


def is_finite_number(value: object) -> bool:
    """True for an int or float (not a bool) that is neither NaN nor infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def numeric_metrics(metadata: dict[str, object]) -> dict[str, float]:
    """The entries of a Metrics artifact's metadata that are numbers (NaN included, bools not)."""
    return {
        name: float(value)
        for name, value in metadata.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def check_thresholds(thresholds: dict[str, object]) -> dict[str, float]:
    """The thresholds as floats, by metric name (a Struct parameter keeps no order).

    A value that is not a finite number is an input error.
    """
    checked = {}
    for name, value in sorted(thresholds.items()):
        if not is_finite_number(value):
            raise ComponentInputError(
                f"threshold {name!r} is {value!r}; a threshold must be a finite number"
            )
        checked[name] = float(value)
    return checked


def _check(metric: str, threshold: float, metrics: dict[str, float]) -> Check:
    comparison = "<=" if metric in LOWER_IS_BETTER else ">="
    if metric not in metrics:
        close = difflib.get_close_matches(metric, list(metrics), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        reason = (
            f"{metric} is not in the metrics artifact{hint}; known metrics: "
            f"{', '.join(sorted(metrics)) or 'none'}"
        )
        return Check(metric, threshold, None, False, None, reason)
    observed = metrics[metric]
    if not math.isfinite(observed):
        reason = (
            f"{metric} is {observed}, not a finite number: cannot be {comparison} {threshold:.4f}"
        )
        return Check(metric, threshold, observed, False, None, reason)
    margin = threshold - observed if metric in LOWER_IS_BETTER else observed - threshold
    passed = margin >= 0
    if passed:
        reason = f"{metric} {observed:.4f} {comparison} {threshold:.4f} (passed by {margin:.4f})"
    else:
        failing = ">" if metric in LOWER_IS_BETTER else "<"
        reason = f"{metric} {observed:.4f} {failing} {threshold:.4f} (failed by {-margin:.4f})"
    return Check(metric, threshold, observed, passed, margin, reason)


def decide(metadata: dict[str, object], thresholds: dict[str, object]) -> GateDecision:
    """Compares the metrics in a Metrics artifact's ``metadata`` with ``thresholds``.

    Args:
        metadata: The Metrics artifact's metadata; its numeric entries are the metrics.
        thresholds: Metric name to its minimum (a maximum for :data:`LOWER_IS_BETTER` metrics).

    Returns:
        Approved only when there is at least one threshold and every threshold passes; one reason
        per threshold, in the order given (or :data:`NO_THRESHOLDS`).

    Raises:
        ComponentInputError: A threshold value is not a finite number, or (metrics of a regressor,
            ``task: regression``) names a classification metric.
    """
    check_thresholds_for_task(str(metadata.get("task", "")), thresholds)
    checked = check_thresholds(thresholds)
    if not checked:
        return GateDecision(approved=False, checks=[], reasons=[NO_THRESHOLDS])
    metrics = numeric_metrics(metadata)
    checks = [_check(metric, threshold, metrics) for metric, threshold in checked.items()]
    return GateDecision(
        approved=all(check.passed for check in checks),
        checks=checks,
        reasons=[check.reason for check in checks],
    )


def gate_to_markdown(
    metrics_metadata: dict[str, object], decision_path: str, thresholds: dict[str, object]
) -> GateDecision:
    """Decides, prints the decision to the log and writes it as Markdown to ``decision_path``."""
    decision = decide(metrics_metadata, thresholds)
    markdown = decision.to_markdown()
    print(markdown)
    write_text(decision_path, markdown)
    return decision

"""Whether to retrain: drift in the data or a degraded champion; the decision as Markdown."""

import dataclasses

from kfp_mlops.components.common.atomic import write_text


@dataclasses.dataclass(frozen=True)
class RetrainingDecision:
    """Retrain or not, and why.

    Attributes:
        retrain: True when the data drifted or the champion's quality degraded.
        reasons: What decided it, then the evidence of each check.
    """

    retrain: bool
    reasons: list[str]

    def to_markdown(self, drift_reasons: list[str], quality_reasons: list[str]) -> str:
        """The decision, then each check's reasons."""
        title = "Retraining: YES" if self.retrain else "Retraining: no"
        lines = [f"# {title}", "", self.reasons[0], "", "## Data drift", ""]
        lines += [f"- {reason}" for reason in drift_reasons] or ["- (no reasons given)"]
        lines += ["", "## Model quality", ""]
        lines += [f"- {reason}" for reason in quality_reasons] or ["- (no reasons given)"]
        return "\n".join(lines) + "\n"


def decide(
    drift_detected: bool,
    drift_reasons: list[str],
    quality_degraded: bool,
    quality_reasons: list[str],
) -> RetrainingDecision:
    """Retrain when the data drifted or the champion degraded.

    Args:
        drift_detected: detect_drift's decision.
        drift_reasons: detect_drift's reasons.
        quality_degraded: check_model_quality's decision.
        quality_reasons: check_model_quality's reasons.
    """
    causes = [
        name
        for name, flagged in (
            ("data drifted", drift_detected),
            ("quality degraded", quality_degraded),
        )
        if flagged
    ]
    if causes:
        headline = f"retrain: {' and '.join(causes)}"
    else:
        headline = "no retraining: no data drift and no quality degradation"
    return RetrainingDecision(
        retrain=bool(causes),
        reasons=[
            headline,
            *[f"drift: {reason}" for reason in drift_reasons],
            *[f"quality: {reason}" for reason in quality_reasons],
        ],
    )


def decide_to_markdown(
    drift_detected: bool,
    drift_reasons: list[str],
    quality_degraded: bool,
    quality_reasons: list[str],
    decision_path: str,
) -> RetrainingDecision:
    """:func:`decide`, then writes the decision as Markdown to ``decision_path`` atomically."""
    decision = decide(drift_detected, drift_reasons, quality_degraded, quality_reasons)
    markdown = decision.to_markdown(drift_reasons, quality_reasons)
    print(markdown)
    write_text(decision_path, markdown)
    return decision


def no_retraining_markdown(reasons: list[str]) -> str:
    """The record of a monitoring run that kept the current model."""
    lines = ["# Model kept", "", "The monitoring checks found no reason to retrain.", ""]
    lines += [f"- {reason}" for reason in reasons] or ["- (no reasons given)"]
    return "\n".join(lines) + "\n"


def record_no_retraining_to_markdown(reasons: list[str], record_path: str) -> dict[str, object]:
    """Writes the record to ``record_path`` atomically; returns the artifact's metadata."""
    write_text(record_path, no_retraining_markdown(reasons))
    return {"retrained": False, "reasons": list(reasons)}

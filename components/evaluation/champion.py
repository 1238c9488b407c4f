"""The champion/challenger gate: absolute thresholds, then a comparison with the production model.

The champion is the registered model version holding the champion alias in MLflow; its metrics are
those its registration run logged. The challenger (the model just evaluated) is approved only when

1. every absolute threshold passes (the rules of :mod:`.gate`), and
2. on every gated metric (the thresholds' metrics), compared with the champion:

   - by default it falls no more than ``relative_margin`` below the champion: at least
     ``champion - margin * |champion|`` (at most ``champion + margin * |champion|`` for
     lower-is-better metrics such as log_loss);
   - with ``min_improvement`` above 0 it must beat the champion by at least that much instead:
     at least ``champion + min_improvement`` (at most ``champion - min_improvement``).

With no champion yet (no registered model, or no version holding the alias) the absolute
thresholds alone decide, and the report says so. It fails closed: a champion without a gated
metric, a NaN on either side, or no thresholds at all means not approved; an unreachable MLflow
fails the step.
"""

import dataclasses
import math
from collections.abc import Mapping

from kfp_mlops.components.common.atomic import write_text
from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.common.metrics import LOWER_IS_BETTER
from kfp_mlops.components.common.mlflow_registry import RegisteredVersion, version_with_alias
from kfp_mlops.components.evaluation.gate import GateDecision, decide, numeric_metrics

DEFAULT_RELATIVE_MARGIN = 0.05


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The challenger against the champion on one metric.

    ``bound`` is the value the challenger had to reach (a maximum for lower-is-better metrics);
    it and the values are None when a side lacks the metric.
    """

    metric: str
    champion: float | None
    challenger: float | None
    bound: float | None
    passed: bool
    reason: str


@dataclasses.dataclass(frozen=True)
class ChampionDecision:
    """The gate's decision: the absolute checks, the comparisons, and every reason."""

    approved: bool
    absolute: GateDecision
    champion: RegisteredVersion | None
    champion_alias: str
    registered_model_name: str
    rule: str
    comparisons: list[Comparison]
    notes: list[str]

    @property
    def reasons(self) -> list[str]:
        """One line per absolute threshold, then one per comparison (or why there is none)."""
        return list(self.absolute.reasons) + [item.reason for item in self.comparisons] + self.notes

    @property
    def champion_version(self) -> str:
        """The champion's version number, "" without a champion."""
        return self.champion.version if self.champion else ""

    def to_markdown(self) -> str:
        """The report: the verdict, the absolute thresholds, the comparison with the champion."""
        verdict = "APPROVED" if self.approved else "NOT APPROVED"
        lines = [f"# Champion/challenger gate: {verdict}", ""]
        lines += ["## Absolute thresholds", ""]
        if self.absolute.checks:
            lines += [
                "| metric | threshold | observed | margin | result |",
                "| --- | --- | --- | --- | --- |",
            ]
            for check in self.absolute.checks:
                margin = "" if check.margin is None else f"{check.margin:+.4f}"
                lines.append(
                    f"| {check.metric} | {check.comparison} {check.threshold:.4f} "
                    f"| {_number(check.observed)} | {margin} "
                    f"| {'pass' if check.passed else '**FAIL**'} |"
                )
        else:
            lines.append("No thresholds were given, so nothing approves the model.")
        lines += ["", "## Against the champion", ""]
        if self.champion is None:
            lines += [
                f"No champion: registered model `{self.registered_model_name}` has no version "
                f"with alias `{self.champion_alias}`, so the absolute thresholds alone decide.",
                "",
            ]
        else:
            lines += [
                f"Champion: `{self.champion.model_uri}` (alias `{self.champion_alias}`). "
                f"Rule: {self.rule}.",
                "",
            ]
            if self.comparisons:
                lines += [
                    "| metric | champion | challenger | must reach | result |",
                    "| --- | --- | --- | --- | --- |",
                ]
                for item in self.comparisons:
                    lines.append(
                        f"| {item.metric} | {_number(item.champion)} | {_number(item.challenger)} "
                        f"| {_bound(item)} | {'pass' if item.passed else '**FAIL**'} |"
                    )
                lines.append("")
        if self.notes:
            lines += [f"Note: {note}" for note in self.notes] + [""]
        lines += ["## Reasons", ""] + [f"- {reason}" for reason in self.reasons]
        return "\n".join(lines) + "\n"


def _number(value: float | None) -> str:
    return "missing" if value is None else f"{value:.4f}"


def _bound(item: Comparison) -> str:
    if item.bound is None:
        return ""
    return f"{'<=' if item.metric in LOWER_IS_BETTER else '>='} {item.bound:.4f}"


def check_rule(relative_margin: float, min_improvement: float) -> str:
    """The comparison rule in words; raises when the margin or the improvement is malformed."""
    if not (math.isfinite(relative_margin) and 0.0 <= relative_margin < 1.0):
        raise ComponentInputError(
            f"relative_margin {relative_margin} must be at least 0 and below 1 (0.05 allows "
            "the challenger 5 % below the champion)"
        )
    if not (math.isfinite(min_improvement) and min_improvement >= 0.0):
        raise ComponentInputError(
            f"min_improvement {min_improvement} must be 0 (off) or a positive amount the "
            "challenger must beat the champion by"
        )
    if min_improvement > 0:
        return f"beat the champion by at least {min_improvement:g} on each gated metric"
    return f"fall no more than {relative_margin:.2%} below the champion on each gated metric"


def compare(
    metric: str,
    challenger: Mapping[str, float],
    champion: RegisteredVersion,
    relative_margin: float,
    min_improvement: float,
) -> Comparison:
    """The challenger's ``metric`` against the champion's under the rule (see the module)."""
    lower = metric in LOWER_IS_BETTER
    theirs = champion.metrics.get(metric)
    ours = challenger.get(metric)
    if theirs is None or not math.isfinite(theirs):
        reason = (
            f"{metric}: the champion (version {champion.version}) has "
            f"{'no such metric' if theirs is None else theirs} to compare with; not approved"
        )
        return Comparison(metric, theirs, ours, None, False, reason)
    if ours is None or not math.isfinite(ours):
        reason = f"{metric}: the challenger has {'no value' if ours is None else ours}"
        return Comparison(metric, theirs, ours, None, False, reason)
    if min_improvement > 0:
        bound = theirs - min_improvement if lower else theirs + min_improvement
        allowance = f"the required improvement of {min_improvement:g}"
    else:
        slack = relative_margin * abs(theirs)
        bound = theirs + slack if lower else theirs - slack
        allowance = f"the {relative_margin:.2%} margin"
    passed = ours <= bound if lower else ours >= bound
    change = (ours - theirs) / abs(theirs) if theirs else math.copysign(math.inf, ours - theirs)
    worse = change > 0 if lower else change < 0
    relation = f"{abs(change):.2%} {'worse than' if worse else 'better than'}"
    if ours == theirs:
        relation = "equal to"
    verdict = "within" if passed else "outside"
    reason = (
        f"{metric} {ours:.4f} is {relation} champion version {champion.version}'s {theirs:.4f}: "
        f"{verdict} {allowance} (must be {'<=' if lower else '>='} {bound:.4f})"
    )
    return Comparison(metric, theirs, ours, bound, passed, reason)


def decide_against_champion(
    metrics_metadata: Mapping[str, object],
    thresholds: Mapping[str, object],
    champion: RegisteredVersion | None,
    registered_model_name: str,
    champion_alias: str = "champion",
    relative_margin: float = DEFAULT_RELATIVE_MARGIN,
    min_improvement: float = 0.0,
) -> ChampionDecision:
    """Decides with the champion already read from MLflow (None when there is none).

    Raises:
        ComponentInputError: A threshold, the margin or the improvement is malformed.
    """
    rule = check_rule(relative_margin, min_improvement)
    absolute = decide(dict(metrics_metadata), dict(thresholds))
    metrics = numeric_metrics(dict(metrics_metadata))
    comparisons: list[Comparison] = []
    notes: list[str] = []
    if champion is None:
        notes.append(
            f"no champion: registered model {registered_model_name!r} has no version with alias "
            f"{champion_alias!r}; the absolute thresholds alone decide"
        )
    else:
        comparisons = [
            compare(metric, metrics, champion, relative_margin, min_improvement)
            for metric in sorted(thresholds)
        ]
        ours = metrics_metadata.get("test_fingerprint")
        theirs = champion.tags.get("dataset.test.fingerprint")
        if ours and theirs and ours != theirs:
            notes.append(
                f"the champion was measured on another test set ({theirs}) than the challenger "
                f"({ours}); the comparison is only as fair as those sets are alike"
            )
    approved = absolute.approved and all(item.passed for item in comparisons)
    return ChampionDecision(
        approved=approved,
        absolute=absolute,
        champion=champion,
        champion_alias=champion_alias,
        registered_model_name=registered_model_name,
        rule=rule,
        comparisons=comparisons,
        notes=notes,
    )


def champion_gate_to_markdown(
    metrics_metadata: Mapping[str, object],
    decision_path: str,
    thresholds: Mapping[str, object],
    tracking_uri: str,
    registered_model_name: str,
    champion_alias: str = "champion",
    relative_margin: float = DEFAULT_RELATIVE_MARGIN,
    min_improvement: float = 0.0,
) -> ChampionDecision:
    """Reads the champion from MLflow, decides, and writes the report to ``decision_path``.

    The report is also printed.

    Raises:
        ComponentInputError: Bad thresholds, margin, improvement, model name or alias, or an
            MLflow store that cannot be reached (the gate never approves without looking).
    """
    check_rule(relative_margin, min_improvement)
    champion = version_with_alias(tracking_uri, registered_model_name, champion_alias)
    decision = decide_against_champion(
        metrics_metadata,
        thresholds,
        champion,
        registered_model_name,
        champion_alias,
        relative_margin,
        min_improvement,
    )
    markdown = decision.to_markdown()
    print(markdown)
    write_text(decision_path, markdown)
    return decision

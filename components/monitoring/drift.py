"""Data drift: compare each feature of a current dataset with the training reference.

Statistics, per feature:

- **PSI** (population stability index) for numeric and categorical features. The bins are fixed
  from the reference: for a numeric feature, the ``bins``-quantiles of the reference's values
  (``numpy.quantile``, linear interpolation; repeated edges merged), each bin ``[lower, upper)``
  and the outer two open-ended; for a categorical feature, the reference's ``max_categories`` most
  frequent values, then ``(other)`` for the rest and for values the reference never had. Missing
  values (null, NaN) get a bin of their own when either side has any, so a change in the missing
  rate counts. With ``p`` the reference's and ``q`` the current data's share of a bin, both at
  least :data:`PSI_EPSILON` (an empty bin would make the logarithm infinite),
  ``PSI = sum((q - p) * ln(q / p))``.
- **Two-sample Kolmogorov-Smirnov test** for numeric features, on the values that are present:
  the statistic and p-value are those of ``scipy.stats.ks_2samp`` (two-sided, ``method="auto"``:
  exact up to 10,000 rows a side, Smirnov's asymptotic distribution above), computed here from the
  sorted samples that the PSI bins also use.

Decision (the defaults are the usual ones: PSI 0.1 warn, 0.2 drift, KS alpha 0.05):

- The KS p-values are corrected for testing many features at once with **Holm's step-down
  method**: the p-values, smallest first, are compared with ``alpha / m``, ``alpha / (m - 1)``, ...
  (``m`` numeric features tested), and the test rejects up to the first p-value above its
  threshold. Holm controls the chance of any false alarm at ``alpha``, as Bonferroni does, and
  flags at least as many features.
- A **numeric** feature drifts when its PSI reaches ``psi_drift`` *and* its KS test rejects: the
  distribution moved by a large amount, and the move is not chance. PSI alone is noisy on small
  samples (a few hundred rows give PSI near 0.2 by chance), and KS alone flags negligible moves
  on large ones (a million rows make any difference significant). A feature with no values present
  on one side cannot be tested and drifts on PSI alone.
- A **categorical** feature drifts when its PSI reaches ``psi_drift``.
- A feature whose PSI reaches ``psi_warn``, or whose KS test alone rejects, is a warning: reported,
  but not drift.
- Temporal, binary and nested columns are not compared (they are listed as skipped).
"""

import dataclasses
import itertools
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from kfp_mlops.components.common.errors import ComponentInputError

PSI_EPSILON = 1e-4
"""The smallest share a bin counts with in the PSI, so that an empty bin gives a finite value."""

EXACT_KS_MAX_ROWS = 10_000
"""Up to this many rows on each side the KS p-value is exact (as scipy's ``method="auto"``)."""

MISSING = "(missing)"
OTHER = "(other)"

NUMERIC = "numeric"
CATEGORICAL = "categorical"

OK, WARN, DRIFT = "ok", "warn", "drift"


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """The decision's thresholds.

    Attributes:
        psi_warn: PSI from which a feature is a warning.
        psi_drift: PSI from which a feature may drift (numeric ones also need the KS test).
        ks_alpha: The family-wise significance level of the KS tests (Holm-corrected).
        bins: Quantile bins of a numeric feature.
        max_categories: The most frequent reference values a categorical feature keeps as bins.
    """

    psi_warn: float = 0.1
    psi_drift: float = 0.2
    ks_alpha: float = 0.05
    bins: int = 10
    max_categories: int = 20

    def __post_init__(self) -> None:
        if not (math.isfinite(self.psi_warn) and self.psi_warn > 0):
            raise ComponentInputError(f"psi_warn {self.psi_warn} must be a number above 0")
        if not (math.isfinite(self.psi_drift) and self.psi_drift >= self.psi_warn):
            raise ComponentInputError(
                f"psi_drift {self.psi_drift} must be a number at least psi_warn ({self.psi_warn})"
            )
        if not 0 < self.ks_alpha < 1:
            raise ComponentInputError(f"ks_alpha {self.ks_alpha} must lie between 0 and 1")
        if self.bins < 2:
            raise ComponentInputError(f"bins {self.bins} must be 2 or more")
        if self.max_categories < 1:
            raise ComponentInputError(f"max_categories {self.max_categories} must be 1 or more")


@dataclasses.dataclass(frozen=True)
class KsTest:
    """A two-sample KS test and, once corrected for the number of features, its verdict.

    Attributes:
        statistic: The largest distance between the two empirical distribution functions.
        pvalue: The two-sided p-value, uncorrected.
        threshold: The Holm threshold the p-value was held against (None when it was not reached:
            a smaller p-value failed first).
        rejected: Whether the test rejects "same distribution" after the correction.
    """

    statistic: float
    pvalue: float
    threshold: float | None = None
    rejected: bool = False


@dataclasses.dataclass(frozen=True)
class FeatureDrift:
    """One feature's comparison.

    Attributes:
        name: The column.
        kind: ``numeric`` or ``categorical``.
        psi: The population stability index.
        bin_labels: The PSI bins, e.g. ``< 12.3``, ``[12.3, 14.1)``, ``(missing)``.
        reference_shares: The reference's share of rows in each bin.
        current_shares: The current data's share of rows in each bin.
        ks: The KS test (numeric features with values on both sides), else None.
        status: ``ok``, ``warn`` or ``drift``.
        reason: One line saying why the status is what it is.
    """

    name: str
    kind: str
    psi: float
    bin_labels: list[str]
    reference_shares: list[float]
    current_shares: list[float]
    ks: KsTest | None
    status: str = OK
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class DriftResult:
    """Every feature's comparison and the decision.

    Attributes:
        features: Each compared feature, in column order.
        skipped: Column to why it was not compared.
        reference_rows: Rows of the reference.
        current_rows: Rows of the current data.
        thresholds: The thresholds used.
        drift_detected: Whether any feature drifted.
        drifted_features: The features that drifted, in column order.
        reasons: The drifted features' reasons, then the warnings'; when nothing drifted or warned,
            one line with the largest PSI and the smallest p-value.
    """

    features: list[FeatureDrift]
    skipped: dict[str, str]
    reference_rows: int
    current_rows: int
    thresholds: Thresholds
    drift_detected: bool
    drifted_features: list[str]
    reasons: list[str]

    @property
    def ks_tests(self) -> int:
        """How many KS tests the Holm correction counted."""
        return sum(1 for feature in self.features if feature.ks is not None)

    def metrics(self) -> dict[str, float]:
        """Per-feature ``psi.<feature>`` and ``ks_pvalue.<feature>``, then counts and maxima."""
        found: dict[str, float] = {}
        for feature in self.features:
            found[f"psi.{feature.name}"] = feature.psi
            if feature.ks is not None:
                found[f"ks_pvalue.{feature.name}"] = feature.ks.pvalue
        found["features_compared"] = float(len(self.features))
        found["features_drifted"] = float(len(self.drifted_features))
        found["max_psi"] = max((feature.psi for feature in self.features), default=0.0)
        return found


def population_stability_index(
    reference_counts: np.ndarray, current_counts: np.ndarray, epsilon: float = PSI_EPSILON
) -> float:
    """``sum((q - p) * ln(q / p))`` over the bins, shares floored at ``epsilon``.

    Args:
        reference_counts: Rows of the reference in each bin.
        current_counts: Rows of the current data in the same bins.
        epsilon: The smallest share a bin counts with.
    """
    reference = np.maximum(reference_counts / reference_counts.sum(), epsilon)
    current = np.maximum(current_counts / current_counts.sum(), epsilon)
    return float(np.sum((current - reference) * np.log(current / reference)))


def _ks_statistic(reference: np.ndarray, current: np.ndarray) -> float:
    """``ks_2samp``'s statistic, from two sorted samples without missing values.

    scipy compares the empirical distribution functions at every value of either sample, each
    difference computed as ``count_a / n_a - count_b / n_b``. The same differences are computed
    here at each distinct value only (every copy of a value gives the same difference), where a
    sample's own count is the position of the value's last copy, and only the other sample is
    searched, with sorted keys. The values compared are the same, so the extremes are too.
    """
    n_reference, n_current = reference.shape[0], current.shape[0]

    def last_copies(ordered: np.ndarray) -> np.ndarray:
        return np.append(np.flatnonzero(ordered[1:] != ordered[:-1]), ordered.shape[0] - 1)

    reference_last = last_copies(reference)
    current_last = last_copies(current)
    at_reference = (reference_last + 1) / n_reference - np.searchsorted(
        current, reference[reference_last], side="right"
    ) / n_current
    at_current = (
        np.searchsorted(reference, current[current_last], side="right") / n_reference
        - (current_last + 1) / n_current
    )
    largest = max(at_reference.max(), at_current.max())
    smallest = min(at_reference.min(), at_current.min())
    return float(max(np.clip(-smallest, 0, 1), largest))


def ks_two_sample(reference: np.ndarray, current: np.ndarray) -> KsTest:
    """The two-sided two-sample KS test of two sorted samples, as ``scipy.stats.ks_2samp``.

    Args:
        reference: The reference's values, sorted, without missing values.
        current: The current data's values, sorted, without missing values.
    """
    n_reference, n_current = reference.shape[0], current.shape[0]
    if max(n_reference, n_current) <= EXACT_KS_MAX_ROWS:
        result = stats.ks_2samp(reference, current)
        return KsTest(statistic=float(result.statistic), pvalue=float(result.pvalue))
    statistic = _ks_statistic(reference, current)
    larger, smaller = sorted([float(n_reference), float(n_current)], reverse=True)
    effective = larger * smaller / (larger + smaller)
    pvalue = float(np.clip(stats.kstwo.sf(statistic, np.round(effective)), 0, 1))
    return KsTest(statistic=statistic, pvalue=pvalue)


def holm(pvalues: dict[str, float], alpha: float) -> dict[str, tuple[float | None, bool]]:
    """Holm's step-down correction: name to (threshold compared with, rejected).

    The p-values, smallest first, are compared with ``alpha / m``, ``alpha / (m - 1)``, ...; every
    test up to the first p-value above its threshold rejects, none after it. Ties keep name order.
    """
    order = sorted(pvalues, key=lambda name: (pvalues[name], name))
    count = len(order)
    verdicts: dict[str, tuple[float | None, bool]] = {}
    stopped = False
    for rank, name in enumerate(order):
        if stopped:
            verdicts[name] = (None, False)
            continue
        threshold = alpha / (count - rank)
        rejected = pvalues[name] <= threshold
        verdicts[name] = (threshold, rejected)
        stopped = not rejected
    return verdicts


def _format(value: float) -> str:
    return f"{value:.4g}"


def _sorted_present(values: np.ndarray) -> tuple[np.ndarray, int]:
    """The present values sorted (NaN sorts last and is cut off), and how many were missing."""
    ordered = np.sort(values)
    present = int(np.searchsorted(ordered, np.nan, side="left"))
    return ordered[:present], values.shape[0] - present


def _numeric_values(column: pa.ChunkedArray) -> np.ndarray:
    if not pa.types.is_float64(column.type):
        column = column.cast(pa.float64())
    return column.to_numpy()


def compare_numeric(
    name: str, reference: pa.ChunkedArray, current: pa.ChunkedArray, bins: int
) -> FeatureDrift:
    """PSI on quantile bins of the reference, and the KS test (uncorrected) of one feature."""
    reference_sorted, reference_missing = _sorted_present(_numeric_values(reference))
    current_sorted, current_missing = _sorted_present(_numeric_values(current))
    if reference_sorted.shape[0]:
        edges = np.unique(np.quantile(reference_sorted, np.linspace(0, 1, bins + 1)[1:-1]))
    else:
        edges = np.empty(0)

    def counts(ordered: np.ndarray) -> np.ndarray:
        below = np.searchsorted(ordered, edges, side="left")
        return np.diff(np.concatenate([[0], below, [ordered.shape[0]]]))

    reference_counts, current_counts = counts(reference_sorted), counts(current_sorted)
    labels = _interval_labels(edges)
    if reference_missing or current_missing:
        reference_counts = np.append(reference_counts, reference_missing)
        current_counts = np.append(current_counts, current_missing)
        labels.append(MISSING)
    ks = None
    if reference_sorted.shape[0] and current_sorted.shape[0]:
        ks = ks_two_sample(reference_sorted, current_sorted)
    return FeatureDrift(
        name=name,
        kind=NUMERIC,
        psi=population_stability_index(reference_counts, current_counts),
        bin_labels=labels,
        reference_shares=(reference_counts / reference_counts.sum()).tolist(),
        current_shares=(current_counts / current_counts.sum()).tolist(),
        ks=ks,
    )


def _interval_labels(edges: np.ndarray) -> list[str]:
    if edges.shape[0] == 0:
        return ["all values"]
    texts = [_format(float(edge)) for edge in edges]
    middle = [f"[{low}, {high})" for low, high in itertools.pairwise(texts)]
    return [f"< {texts[0]}", *middle, f">= {texts[-1]}"]


def _category_counts(column: pa.ChunkedArray) -> dict[str, int]:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not pa.types.is_string(column.type):
        column = column.cast(pa.string())
    counts: dict[str, int] = {}
    for entry in pc.value_counts(column).to_pylist():
        key = MISSING if entry["values"] is None else entry["values"]
        counts[key] = counts.get(key, 0) + entry["counts"]
    return counts


def compare_categorical(
    name: str, reference: pa.ChunkedArray, current: pa.ChunkedArray, max_categories: int
) -> FeatureDrift:
    """PSI over the reference's most frequent values, ``(other)`` and ``(missing)``."""
    reference_counts = _category_counts(reference)
    current_counts = _category_counts(current)
    values = sorted(
        (value for value in reference_counts if value != MISSING),
        key=lambda value: (-reference_counts[value], value),
    )
    kept = sorted(values[:max_categories])
    labels = list(kept)
    reference_bins = [reference_counts[value] for value in kept]
    current_bins = [current_counts.get(value, 0) for value in kept]
    other_reference = sum(reference_counts[value] for value in values[max_categories:])
    other_current = sum(
        count for value, count in current_counts.items() if value not in kept and value != MISSING
    )
    if other_reference or other_current:
        labels.append(OTHER)
        reference_bins.append(other_reference)
        current_bins.append(other_current)
    if MISSING in reference_counts or MISSING in current_counts:
        labels.append(MISSING)
        reference_bins.append(reference_counts.get(MISSING, 0))
        current_bins.append(current_counts.get(MISSING, 0))
    reference_array = np.asarray(reference_bins, dtype=np.float64)
    current_array = np.asarray(current_bins, dtype=np.float64)
    return FeatureDrift(
        name=name,
        kind=CATEGORICAL,
        psi=population_stability_index(reference_array, current_array),
        bin_labels=labels,
        reference_shares=(reference_array / reference_array.sum()).tolist(),
        current_shares=(current_array / current_array.sum()).tolist(),
        ks=None,
    )


def column_kind(data_type: pa.DataType) -> str | None:
    """``numeric``, ``categorical``, or None for a column drift is not measured on."""
    if pa.types.is_dictionary(data_type):
        return column_kind(data_type.value_type)
    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type):
        return NUMERIC
    if pa.types.is_decimal(data_type):
        return NUMERIC
    if pa.types.is_boolean(data_type) or pa.types.is_string(data_type):
        return CATEGORICAL
    if pa.types.is_large_string(data_type):
        return CATEGORICAL
    return None


def _judge(feature: FeatureDrift, thresholds: Thresholds, tests: int) -> FeatureDrift:
    psi_text = f"PSI {feature.psi:.3f}"
    large = feature.psi >= thresholds.psi_drift
    ks = feature.ks
    if ks is None:
        ks_text, ks_rejects = "", False
    else:
        holm_text = f"alpha {thresholds.ks_alpha}, Holm over {tests} features"
        if ks.threshold is None:
            ks_text = (
                f"KS p-value {_format(ks.pvalue)} not significant ({holm_text} stopped before it)"
            )
        else:
            sign = "<=" if ks.rejected else ">"
            ks_text = (
                f"KS p-value {_format(ks.pvalue)} {sign} {_format(ks.threshold)} ({holm_text})"
            )
        ks_rejects = ks.rejected
    if feature.kind == NUMERIC and ks is not None:
        if large and ks_rejects:
            status = DRIFT
            why = f"{psi_text} >= {thresholds.psi_drift} and {ks_text}"
        elif large or ks_rejects or feature.psi >= thresholds.psi_warn:
            status = WARN
            psi_part = (
                f"{psi_text} >= {thresholds.psi_warn}"
                if feature.psi >= thresholds.psi_warn
                else f"{psi_text} < {thresholds.psi_warn}"
            )
            why = f"{psi_part}, {ks_text}"
        else:
            status = OK
            why = f"{psi_text} < {thresholds.psi_warn}, {ks_text}"
    else:
        untested = " (no values on one side: no KS test)" if feature.kind == NUMERIC else ""
        if large:
            status, why = DRIFT, f"{psi_text} >= {thresholds.psi_drift}{untested}"
        elif feature.psi >= thresholds.psi_warn:
            status, why = WARN, f"{psi_text} >= {thresholds.psi_warn}{untested}"
        else:
            status, why = OK, f"{psi_text} < {thresholds.psi_warn}{untested}"
    return dataclasses.replace(feature, status=status, reason=f"{feature.name}: {status}: {why}")


def _feature_columns(
    reference: pa.Table,
    current: pa.Table,
    feature_columns: list[str] | None,
    exclude_columns: list[str],
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The columns to compare with their kind, and the skipped ones with why."""
    for label, table in (("reference", reference), ("current", current)):
        if table.num_rows == 0:
            raise ComponentInputError(f"the {label} dataset has no rows: nothing to compare")
    if feature_columns:
        for column in feature_columns:
            if column not in reference.column_names:
                raise ComponentInputError(
                    f"feature column {column!r} is not in the reference dataset; its columns "
                    f"are: {', '.join(reference.column_names)}"
                )
        names = [name for name in feature_columns if name not in exclude_columns]
    else:
        for column in exclude_columns:
            if column not in reference.column_names:
                raise ComponentInputError(
                    f"excluded column {column!r} is not in the reference dataset; its columns "
                    f"are: {', '.join(reference.column_names)}"
                )
        names = [name for name in reference.column_names if name not in exclude_columns]
    compared: list[tuple[str, str]] = []
    skipped: dict[str, str] = {}
    for name in names:
        if name not in current.column_names:
            raise ComponentInputError(
                f"column {name!r} of the reference dataset is missing from the current dataset"
            )
        reference_type = reference.schema.field(name).type
        current_type = current.schema.field(name).type
        kind = column_kind(reference_type)
        if kind is None:
            skipped[name] = f"type {reference_type} is not compared (numeric and text only)"
            continue
        if column_kind(current_type) != kind and not pa.types.is_null(current_type):
            raise ComponentInputError(
                f"column {name!r} is {kind} ({reference_type}) in the reference dataset but "
                f"{current_type} in the current dataset"
            )
        compared.append((name, kind))
    if not compared:
        raise ComponentInputError(
            "no column to compare: give feature_columns, or datasets with numeric or text columns"
        )
    return compared, skipped


def compare_datasets(
    reference: pa.Table,
    current: pa.Table,
    thresholds: Thresholds = Thresholds(),
    feature_columns: list[str] | None = None,
    exclude_columns: list[str] | None = None,
) -> DriftResult:
    """Compares every feature of ``current`` with ``reference`` and decides whether data drifted.

    Args:
        reference: The training reference.
        current: The data to check.
        thresholds: PSI and KS thresholds, bins.
        feature_columns: The columns to compare; all of the reference's when None or empty.
        exclude_columns: Columns not compared (the label, identifiers).

    Raises:
        ComponentInputError: A dataset is empty, a named column is absent, or a column's kind
            differs between the two datasets.
    """
    exclude = list(exclude_columns or [])
    compared, skipped = _feature_columns(reference, current, feature_columns, exclude)
    features: list[FeatureDrift] = []
    for name, kind in compared:
        if kind == NUMERIC:
            features.append(
                compare_numeric(name, reference.column(name), current.column(name), thresholds.bins)
            )
        else:
            features.append(
                compare_categorical(
                    name, reference.column(name), current.column(name), thresholds.max_categories
                )
            )
    pvalues = {feature.name: feature.ks.pvalue for feature in features if feature.ks is not None}
    verdicts = holm(pvalues, thresholds.ks_alpha)
    judged = []
    for feature in features:
        if feature.ks is not None:
            threshold, rejected = verdicts[feature.name]
            feature = dataclasses.replace(
                feature,
                ks=dataclasses.replace(feature.ks, threshold=threshold, rejected=rejected),
            )
        judged.append(_judge(feature, thresholds, len(pvalues)))
    drifted = [feature for feature in judged if feature.status == DRIFT]
    warned = [feature for feature in judged if feature.status == WARN]
    reasons = [feature.reason for feature in drifted + warned]
    if not reasons:
        reasons = [_calm_summary(judged)]
    return DriftResult(
        features=judged,
        skipped=skipped,
        reference_rows=reference.num_rows,
        current_rows=current.num_rows,
        thresholds=thresholds,
        drift_detected=bool(drifted),
        drifted_features=[feature.name for feature in drifted],
        reasons=reasons,
    )


def _calm_summary(features: list[FeatureDrift]) -> str:
    largest = max(features, key=lambda feature: feature.psi)
    text = f"no drift in {len(features)} features: largest PSI {largest.psi:.3f} ({largest.name})"
    tested = [feature for feature in features if feature.ks is not None]
    if tested:
        smallest = min(tested, key=lambda feature: feature.ks.pvalue)
        text += f", smallest KS p-value {_format(smallest.ks.pvalue)} ({smallest.name})"
    return text

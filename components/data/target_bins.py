"""Quantile bins of a continuous target, so that a stratified split can be stratified on them.

The stratified split (split.py) deals each class's rows to train, validation and test in
proportion. For a continuous target the classes are its quantile bins: each part then sees the same
range of the target, its extremes included, rather than whatever a plain shuffle leaves it.
"""

import numpy as np
import pyarrow as pa

from kfp_mlops.components.common.errors import ComponentInputError

BIN_COLUMN = "target quantile bin"
"""The column of :func:`quantile_bin_table`'s one-column table."""


def quantile_bins(values: np.ndarray, bins: int, min_rows: int) -> np.ndarray:
    """The bin (0, 1, ...) of each value: ``bins`` bins of equal count, neighbours merged until
    each bin holds at least ``min_rows`` values (ties can leave a bin short).

    Raises:
        ComponentInputError: ``bins`` is below 2, or a value is missing or not finite.
    """
    if bins < 2:
        raise ComponentInputError(f"target_bins {bins} must be at least 2")
    if not np.isfinite(values).all():
        raise ComponentInputError(
            "the target has missing, NaN or infinite values: it cannot be binned into quantiles"
        )
    edges = np.quantile(values, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    codes = np.searchsorted(edges, values, side="right")
    counts = np.bincount(codes, minlength=bins)
    merged = np.empty(len(counts), dtype=np.int64)
    group, filled = 0, 0
    for code, count in enumerate(counts):
        merged[code] = group
        filled += count
        if filled >= min_rows:
            group, filled = group + 1, 0
    if filled and group:  # the last bin is short: it joins the one before it
        merged[merged == group] = group - 1
    return merged[codes]


def quantile_bin_table(table: pa.Table, target_column: str, bins: int, min_rows: int) -> pa.Table:
    """A one-column table (:data:`BIN_COLUMN`) holding each row's quantile bin of the target.

    Raises:
        ComponentInputError: The target is not numeric, or see :func:`quantile_bins`.
    """
    column = table.column(target_column)
    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        raise ComponentInputError(
            f"target column {target_column!r} is {column.type}: only a numeric target can be "
            "split on quantile bins"
        )
    values = column.to_numpy(zero_copy_only=False).astype(np.float64)
    return pa.table({BIN_COLUMN: quantile_bins(values, bins, min_rows)})

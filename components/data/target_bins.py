"""Quantile bins of a continuous target, so that a stratified split can be stratified on them.

The stratified split (split.py) deals each class's rows to train, validation and test in
proportion. For a continuous target the classes are its quantile bins: each part then sees the same
range of the target, its extremes included, rather than whatever a plain shuffle leaves it.

The bins are found a record batch at a time, in memory that does not grow with the rows: one pass
counts the rows and the target's range, :func:`.order_statistics.kth_smallest` finds each quantile
edge exactly in a few passes of the target column alone, and one pass counts the bins so that short
ones can be merged with their neighbours.
"""

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kfp_mlops.components.common.errors import ComponentInputError
from kfp_mlops.components.data.order_statistics import kth_smallest, sort_keys

Binner = Callable[[pa.Array], pa.Array]
"""Maps a batch's target values to their bin numbers (0, 1, ...)."""


def merge_short_bins(counts: np.ndarray, min_rows: int) -> np.ndarray:
    """The merged bin of each bin, neighbours merged until each holds ``min_rows`` rows.

    Ties can leave a bin short; a short last bin joins the one before it.
    """
    merged = np.empty(len(counts), dtype=np.int64)
    group, filled = 0, 0
    for code, count in enumerate(counts):
        merged[code] = group
        filled += int(count)
        if filled >= min_rows:
            group, filled = group + 1, 0
    if filled and group:
        merged[merged == group] = group - 1
    return merged


def quantile_bins(values: np.ndarray, bins: int, min_rows: int) -> np.ndarray:
    """The bin (0, 1, ...) of each of ``values``, computed in memory.

    What :func:`quantile_binner` gives for a column holding them (for tests and small arrays).
    """
    column = pa.array(values, pa.float64())
    binner, _ = quantile_binner(lambda: iter([column]), "target", bins, min_rows)
    return binner(column).to_numpy()


def quantile_binner(
    target: Callable[[], Iterable[pa.Array]], target_column: str, bins: int, min_rows: int
) -> tuple[Binner, int]:
    """The function giving each target value its quantile bin, and the number of bins after merging.

    Args:
        target: Makes a fresh pass over the target column, a batch at a time.
        target_column: The column's name, for messages.
        bins: How many bins of equal count to cut (at least 2).
        min_rows: The fewest rows a bin may hold; shorter bins are merged with their neighbours.

    Raises:
        ComponentInputError: ``bins`` is below 2, or the target is not numeric, or has missing,
            NaN or infinite values.
    """
    if bins < 2:
        raise ComponentInputError(f"target_bins {bins} must be at least 2")
    rows = 0
    lowest = highest = None
    for column in target():
        if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
            raise ComponentInputError(
                f"target column {target_column!r} is {column.type}: only a numeric target can be "
                "split on quantile bins"
            )
        finite = column.null_count == 0 and (
            not pa.types.is_floating(column.type)
            or pc.all(pc.is_finite(column)).as_py() is not False
        )
        if not finite:
            raise ComponentInputError(
                f"target column {target_column!r} has missing, NaN or infinite values: it cannot "
                "be binned into quantiles"
            )
        rows += len(column)
        if len(column):
            keys = sort_keys(column)
            low, high = int(keys.min()), int(keys.max())
            lowest = low if lowest is None else min(lowest, low)
            highest = high if highest is None else max(highest, high)
    if lowest is None or highest is None:
        raise ComponentInputError(f"target column {target_column!r} has no rows to bin")

    def keys() -> Iterator[np.ndarray]:
        return (sort_keys(column) for column in target())

    edges = np.array(
        [kth_smallest(keys, (rows * step) // bins, lowest, highest)[0] for step in range(1, bins)],
        dtype=np.uint64,
    )
    counts = np.zeros(bins, dtype=np.int64)
    for column in target():
        counts += np.bincount(
            np.searchsorted(edges, sort_keys(column), side="right"), minlength=bins
        )
    merged = merge_short_bins(counts, min_rows)

    def binner(column: pa.Array) -> pa.Array:
        return pa.array(merged[np.searchsorted(edges, sort_keys(column), side="right")])

    return binner, int(merged.max()) + 1

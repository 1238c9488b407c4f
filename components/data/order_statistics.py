"""The k-th smallest value of a column too long to hold, found in a few passes of bounded memory."""

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa

BINS = 4096
"""Buckets of the histogram each refining pass counts."""

GATHER = 1 << 20
"""Values few enough to gather and sort: once a rank's bucket holds no more, one pass ends it."""

_SIGN = np.uint64(1 << 63)


def is_orderable(data_type: pa.DataType) -> bool:
    """Whether :func:`sort_keys` can order a column of this type."""
    return (
        pa.types.is_integer(data_type)
        or pa.types.is_floating(data_type)
        or pa.types.is_temporal(data_type)
    )


def sort_keys(column: pa.Array) -> np.ndarray:
    """Unsigned 64-bit keys in the same order as the values (numbers, times, dates); no nulls.

    Integers and times are offset by 2**63; a float's bits are flipped so that unsigned order is
    numeric order (negative floats reversed), the usual trick of radix sorts.
    """
    if pa.types.is_floating(column.type):
        bits = column.cast(pa.float64()).to_numpy(zero_copy_only=False).view(np.int64)
        bits = np.where(bits < 0, bits ^ np.int64(0x7FFF_FFFF_FFFF_FFFF), bits)
        return bits.view(np.uint64) ^ _SIGN
    if pa.types.is_temporal(column.type):
        column = column.view(pa.int64() if column.type.bit_width == 64 else pa.int32())
    values = column.cast(pa.int64()).to_numpy(zero_copy_only=False)
    return values.view(np.uint64) ^ _SIGN


def kth_smallest(
    keys: Callable[[], Iterable[np.ndarray]], rank: int, lowest: int, highest: int
) -> tuple[int, int]:
    """The key at ``rank`` (0-based) in sorted order, and how many keys are smaller than it.

    Args:
        keys: Makes a fresh pass over the keys, as arrays of :func:`sort_keys`.
        rank: The position wanted; 0 <= rank < the number of keys.
        lowest: The smallest key.
        highest: The largest key.

    Each pass counts a histogram of the keys inside the bucket known to hold the rank, narrowing it
    :data:`BINS`-fold; once it holds :data:`GATHER` keys or fewer, one more pass gathers and sorts
    them. Memory: the histogram and at most :data:`GATHER` keys.
    """
    low, high, below = lowest, highest, 0  # the rank's key lies in [low, high]; `below` keys < low
    inside: int | None = None
    while True:
        if low == high:
            return low, below
        if inside is not None and inside <= GATHER:
            gathered = np.sort(
                np.concatenate([np.empty(0, np.uint64), *_within(keys(), low, high)])
            )
            key = int(gathered[rank - below])
            return key, below + int(np.searchsorted(gathered, np.uint64(key), side="left"))
        width = (high - low) // BINS + 1
        histogram = np.zeros(BINS, dtype=np.int64)
        for chunk in _within(keys(), low, high):
            histogram += np.bincount(
                ((chunk - np.uint64(low)) // np.uint64(width)).astype(np.int64), minlength=BINS
            )
        cumulative = np.cumsum(histogram)
        bucket = int(np.searchsorted(cumulative, rank - below, side="right"))
        below += int(cumulative[bucket - 1]) if bucket else 0
        low = low + bucket * width
        high = min(high, low + width - 1)
        inside = int(histogram[bucket])


def _within(chunks: Iterable[np.ndarray], low: int, high: int) -> Iterator[np.ndarray]:
    lower, upper = np.uint64(low), np.uint64(high)
    for chunk in chunks:
        yield chunk[(chunk >= lower) & (chunk <= upper)]

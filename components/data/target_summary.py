"""What the regression target rules need to know of the target, gathered a record batch at a time.

Memory stays bounded however many rows there are: counts of NaN and infinite values, the finite
minimum and maximum, whether every finite value is a whole number, and the distinct finite values
only up to one more than :data:`MAX_LABEL_VALUES` (enough to tell a class label from a quantity).
"""

import numpy as np
import pyarrow as pa

MAX_LABEL_VALUES = 10
"""A whole-number target with at most this many distinct values reads as a class label."""


class TargetSummary:
    """A regression target's summary over the batches seen so far."""

    def __init__(self, data_type: pa.DataType) -> None:
        """Starts an empty summary of a column of ``data_type``."""
        self.data_type = data_type
        self.numeric = pa.types.is_integer(data_type) or pa.types.is_floating(data_type)
        self.nan = self.infinite = 0
        self.whole = True
        self.distinct: set[float] = set()
        self.many_distinct = False
        self.minimum: float | None = None
        self.maximum: float | None = None

    def update(self, column: pa.Array) -> None:
        """Takes the next values of the column."""
        if not self.numeric:
            return
        values = column.drop_null().to_numpy(zero_copy_only=False).astype(np.float64)
        self.nan += int(np.count_nonzero(np.isnan(values)))
        self.infinite += int(np.count_nonzero(np.isinf(values)))
        finite = values[np.isfinite(values)]
        if not finite.size:
            return
        low, high = float(finite.min()), float(finite.max())
        self.minimum = low if self.minimum is None else min(self.minimum, low)
        self.maximum = high if self.maximum is None else max(self.maximum, high)
        self.whole = self.whole and bool(np.all(finite == np.round(finite)))
        if not self.many_distinct:
            self.distinct.update(np.unique(finite)[: MAX_LABEL_VALUES + 1].tolist())
            if len(self.distinct) > MAX_LABEL_VALUES:
                self.many_distinct = True
                self.distinct = set(sorted(self.distinct)[: MAX_LABEL_VALUES + 1])

    @property
    def constant(self) -> bool:
        """Whether the finite values are all equal (or there are none)."""
        return self.minimum is None or self.minimum == self.maximum

    @property
    def label_like(self) -> bool:
        """Whole numbers with at most :data:`MAX_LABEL_VALUES` distinct values: a class label."""
        return self.whole and not self.many_distinct and not self.constant

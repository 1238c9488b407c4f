"""Helpers the monitoring tests share: which features the drifted data moves, and Arrow tables."""

import pandas as pd
import pyarrow as pa

SHIFTED = ("mean radius", "worst texture")
"""The two features the drifted data moves by one reference standard deviation."""


def table(frame: pd.DataFrame) -> pa.Table:
    """A DataFrame as the Arrow table a Parquet dataset reads back as."""
    return pa.Table.from_pandas(frame, preserve_index=False)

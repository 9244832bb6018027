"""Chronological train / validation / test periods of a frame.

Example:
    >>> import pandas as pd
    >>> from cryptexlab.params import SplitConfig
    >>> idx = pd.date_range("2024-01-01", periods=100, freq="1h", tz="UTC")
    >>> [p.rows for p in split_periods(idx, SplitConfig(train=0.7, val=0.2, test=0.1))]
    [70, 20, 10]
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cryptexlab.errors import DataError
from cryptexlab.params import SplitConfig


@dataclass(frozen=True)
class Period:
    """One contiguous block of rows: positions ``[start, stop)`` of the index."""

    name: str
    start: int
    stop: int
    first: pd.Timestamp
    last: pd.Timestamp

    @property
    def rows(self) -> int:
        """Number of rows in the period."""
        return self.stop - self.start


def split_periods(index: pd.DatetimeIndex, split: SplitConfig) -> list[Period]:
    """Cut the index into train, val and test blocks by the configured shares (in time order).

    Raises:
        DataError: if any block would hold fewer than 2 rows.
    """
    n = len(index)
    n_train = int(round(n * split.train))
    n_val = int(round(n * split.val))
    bounds = [("train", 0, n_train), ("val", n_train, n_train + n_val), ("test", n_train + n_val, n)]
    periods = []
    for name, start, stop in bounds:
        if stop - start < 2:
            raise DataError(
                f"the {name} period would hold {stop - start} rows of {n} (shares train="
                f"{split.train}, val={split.val}, test={split.test}); use more data or larger shares"
            )
        periods.append(Period(name, start, stop, index[start], index[stop - 1]))
    return periods

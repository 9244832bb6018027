"""Chronological train / validation / test periods, with a gap between them.

The periods are contiguous blocks in time order. ``gap`` rows at the start of the validation
and test blocks belong to no period, so a target of ``pred_len <= gap`` bars at the end of one
period never reaches into the next. :func:`default_gap` is the one place that says what the gap
of a data configuration is (``split.gap``, or ``pred_len`` when that is null); the windows, the
cross-validation folds and the data notebook all read it.

Example:
    >>> import pandas as pd
    >>> from cryptexlab.params import DataConfig, SplitConfig
    >>> idx = pd.date_range("2024-01-01", periods=100, freq="1h", tz="UTC")
    >>> [(p.name, p.start, p.stop) for p in split_periods(idx, SplitConfig(train=0.7, val=0.2, test=0.1), gap=3)]
    [('train', 0, 70), ('val', 73, 90), ('test', 93, 100)]
    >>> default_gap(DataConfig.model_validate({"windows": {"pred_len": 12}}))
    12
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cryptexlab.errors import DataError
from cryptexlab.params import DataConfig, SplitConfig


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: name, first and last bar (ISO text), bars."""
        return {"name": self.name, "first": str(self.first), "last": str(self.last), "bars": self.rows}


def default_gap(config: DataConfig) -> int:
    """Rows left out between consecutive periods: ``split.gap``, or ``pred_len`` when it is null
    (the least that keeps every target inside its own period)."""
    return config.split.gap if config.split.gap is not None else config.windows.pred_len


def data_periods(index: pd.DatetimeIndex, config: DataConfig) -> list[Period]:
    """The train, val and test periods of a data configuration: its split, with :func:`default_gap`.

    Raises:
        DataError: as :func:`split_periods`.
    """
    return split_periods(index, config.split, gap=default_gap(config))


def periods_table(periods: list[Period]) -> pd.DataFrame:
    """One row per period: its name, first and last bar, bars (what the data notebook shows)."""
    return pd.DataFrame([{"period": p.name, "first": p.first, "last": p.last, "bars": p.rows} for p in periods])


def periods_records(periods: list[Period]) -> list[dict[str, Any]]:
    """The periods JSON-ready (:meth:`Period.to_dict`), as a notebook's metrics record them."""
    return [p.to_dict() for p in periods]


def split_periods(index: pd.DatetimeIndex, split: SplitConfig, gap: int = 0) -> list[Period]:
    """Cut the index into train, val and test blocks (shares or dates), leaving ``gap`` rows out between.

    Raises:
        DataError: if a period would hold fewer than 2 rows, naming the sizes.
    """
    n = len(index)
    if split.train_end is not None and split.val_end is not None:
        a = int(np.searchsorted(index, pd.Timestamp(split.train_end, tz="UTC")))
        b = int(np.searchsorted(index, pd.Timestamp(split.val_end, tz="UTC")))
        how = f"train_end={split.train_end}, val_end={split.val_end}"
    else:
        a = int(round(n * split.train))
        b = a + int(round(n * split.val))
        how = f"shares train={split.train}, val={split.val}, test={split.test}"
    bounds = [("train", 0, a), ("val", a + gap, b), ("test", b + gap, n)]
    periods = []
    for name, start, stop in bounds:
        if stop - start < 2:
            raise DataError(
                f"the {name} period would hold {max(stop - start, 0)} rows of {n} ({how}, gap={gap}); "
                "use more data, other shares or dates, or a smaller gap"
            )
        periods.append(Period(name, start, stop, index[start], index[stop - 1]))
    return periods

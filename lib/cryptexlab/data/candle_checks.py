"""The rules between rows of candles: time order, whole bars, and steps on the declared grid.

Given the typed columns from :mod:`cryptexlab.data.csv_parse`, these checks find newest-first
files (strictly decreasing timestamps, to be reversed), duplicate or unsorted timestamps,
prices partly missing or not positive, a high below max(open, close) or a low above
min(open, close), empty or negative volume, and steps that are off the declared frequency or
skip bars (allowed only with repair). Each broken rule is a
:class:`~cryptexlab.errors.DataError` naming the line of the file, the column and the rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptexlab.data.csv_parse import PRICE_COLUMNS
from cryptexlab.errors import DataError


def check_order(index: pd.DatetimeIndex, source: str, lines: np.ndarray) -> bool:
    """Return True for a newest-first file (strictly decreasing); raise on any other disorder."""
    deltas = np.diff(index.asi8)
    if len(deltas) and (deltas < 0).all():
        return True
    if (deltas == 0).any():
        i = int(np.flatnonzero(deltas == 0)[0]) + 1
        raise DataError(
            f"{source} line {lines[i]}, column timestamp: {index[i]} duplicates line {lines[i - 1]}; "
            "each bar must appear once. Remove the duplicate row"
        )
    if (deltas < 0).any():
        i = int(np.flatnonzero(deltas < 0)[0]) + 1
        raise DataError(
            f"{source} line {lines[i]}, column timestamp: {index[i]} is earlier than line {lines[i - 1]} "
            f"({index[i - 1]}); rows must be in increasing time order. Sort the file by timestamp"
        )
    return False


def check_rows(
    prices: pd.DataFrame, volume: np.ndarray, nan_count: np.ndarray, source: str, lines: np.ndarray
) -> None:
    partial = (nan_count > 0) & (nan_count < 4)
    if partial.any():
        i = int(np.flatnonzero(partial)[0])
        gone = [c for c in PRICE_COLUMNS if np.isnan(prices[c].iloc[i])]
        raise DataError(
            f"{source} line {lines[i]}: prices partly missing ({', '.join(gone)} empty); only "
            "whole no-trade rows (all four prices NaN, volume 0) are allowed. Fix or remove the row"
        )
    empty_vol = np.isnan(volume)
    if empty_vol.any():
        i = int(np.flatnonzero(empty_vol)[0])
        raise DataError(f"{source} line {lines[i]}, column volume: volume is empty; use 0 for no trade")
    traded_no_price = (nan_count == 4) & (volume != 0)
    if traded_no_price.any():
        i = int(np.flatnonzero(traded_no_price)[0])
        raise DataError(
            f"{source} line {lines[i]}: all prices are NaN but volume is {volume[i]}; a no-trade "
            "row must have volume 0"
        )
    if (volume < 0).any():
        i = int(np.flatnonzero(volume < 0)[0])
        raise DataError(f"{source} line {lines[i]}, column volume: volume {volume[i]} is negative")
    for col in PRICE_COLUMNS:
        values = prices[col].to_numpy()
        bad = values <= 0
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{source} line {lines[i]}, column {col}: price {values[i]} must be positive"
            )
    o, h, lo, c = (prices[k].to_numpy() for k in ("open", "high", "low", "close"))
    high_low = h < np.maximum(o, c)
    if high_low.any():
        i = int(np.flatnonzero(high_low)[0])
        raise DataError(
            f"{source} line {lines[i]}, column high: high {h[i]} is below max(open, close) = "
            f"{max(o[i], c[i])}; a bar's high must be at least its open and close"
        )
    low_high = lo > np.minimum(o, c)
    if low_high.any():
        i = int(np.flatnonzero(low_high)[0])
        raise DataError(
            f"{source} line {lines[i]}, column low: low {lo[i]} is above min(open, close) = "
            f"{min(o[i], c[i])}; a bar's low must be at most its open and close"
        )


def check_steps(
    index: pd.DatetimeIndex, step: pd.Timedelta, source: str, repair: bool, lines: np.ndarray
) -> tuple[int, int]:
    """Return (missing bars, gaps); raise on off-grid steps, or on gaps without repair."""
    if len(index) < 2:
        return 0, 0
    deltas = np.diff(index.asi8)
    step_ns = step.value
    off_grid = deltas % step_ns != 0
    if off_grid.any():
        i = int(np.flatnonzero(off_grid)[0]) + 1
        raise DataError(
            f"{source} line {lines[i]}, column timestamp: step of {_span(deltas[i - 1])} from line "
            f"{lines[i - 1]} is not a multiple of the declared frequency {_span(step_ns)}; check --freq"
        )
    jumps = deltas // step_ns - 1
    gaps = int((jumps > 0).sum())
    missing = int(jumps.sum())
    if gaps and not repair:
        i = int(np.flatnonzero(jumps > 0)[0]) + 1
        raise DataError(
            f"{source} line {lines[i]}, column timestamp: {int(jumps[i - 1])} bar(s) missing between "
            f"{index[i - 1]} and {index[i]} ({gaps} gap(s), {missing} missing bar(s) in all) at "
            f"declared frequency {_span(step_ns)}. Use --repair (data.repair: true) to fill them as no-trade bars"
        )
    return missing, gaps


def _span(ns: int) -> str:
    """'1h', '30min', '1d 2h' style text of a nanosecond step."""
    td = pd.Timedelta(int(ns))
    return td.isoformat() if td.components.seconds or td.components.milliseconds else (
        " ".join(f"{v}{u}" for v, u in ((td.days, "d"), (td.components.hours, "h"),
                                          (td.components.minutes, "min")) if v) or "0"
    )

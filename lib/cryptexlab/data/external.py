"""External series (funding rates, equity indices, sentiment, ...) joined without look-ahead.

An external CSV has a ``timestamp`` column (Unix seconds, milliseconds or ISO 8601; UTC) that
is the *publication* time of each row, and one or more numeric columns. A value published at
time p becomes visible ``lag_hours`` later; the bar labelled t sees the latest value with
p + lag <= t (an as-of join, ``pandas.merge_asof``, direction backward). A value published
at t + 1 is therefore never visible at t, whatever the lag.

Example:
    >>> import pandas as pd
    >>> idx = pd.date_range("2024-01-01", periods=4, freq="1h", tz="UTC")
    >>> ext = pd.DataFrame({"x": [1.0, 2.0]}, index=pd.DatetimeIndex(
    ...     ["2024-01-01 00:30", "2024-01-01 02:00"], tz="UTC", name="timestamp"))
    >>> asof_join(idx, ext, lag_hours=0)["x"].tolist()
    [nan, 1.0, 2.0, 2.0]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cryptexlab.errors import DataError


def load_external(path: str | Path) -> pd.DataFrame:
    """Read and validate an external CSV; returns numeric columns on a UTC publication index.

    Raises:
        DataError: naming the file and the rule (no timestamp column, no numeric column,
            unparseable, unsorted or duplicate timestamps).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: external series file not found")
    raw = pd.read_csv(path)
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    if "timestamp" not in raw.columns:
        raise DataError(f"{path}: needs a 'timestamp' column (publication time); found {list(raw.columns)}")
    ts = raw.pop("timestamp")
    try:
        if pd.api.types.is_numeric_dtype(ts):
            unit = "ms" if ts.abs().max() > 1e11 else "s"
            index = pd.to_datetime(ts, unit=unit, utc=True)
        else:
            index = pd.to_datetime(ts, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: timestamps could not be parsed ({exc}); use Unix seconds or ISO 8601") from None
    index = pd.DatetimeIndex(index, name="timestamp").as_unit("ns")
    deltas = np.diff(index.asi8)
    if (deltas == 0).any():
        i = int(np.flatnonzero(deltas == 0)[0]) + 1
        raise DataError(f"{path} line {i + 2}: duplicate timestamp {index[i]}; each publication time must appear once")
    if (deltas < 0).any():
        i = int(np.flatnonzero(deltas < 0)[0]) + 1
        raise DataError(f"{path} line {i + 2}: timestamp {index[i]} is earlier than the row before; sort the file by timestamp")
    values = raw.apply(pd.to_numeric, errors="coerce")
    numeric = [c for c in values.columns if values[c].notna().any()]
    if not numeric:
        raise DataError(f"{path}: no numeric column besides timestamp")
    return values[numeric].set_axis(index)


def asof_join(index: pd.DatetimeIndex, external: pd.DataFrame, lag_hours: float) -> pd.DataFrame:
    """Values of ``external`` visible at each bar of ``index`` (published + lag <= bar time)."""
    visible = external.copy()
    visible.index = (pd.DatetimeIndex(visible.index) + pd.Timedelta(hours=lag_hours)).as_unit("ns")
    left = pd.DataFrame(index=index.as_unit("ns")).rename_axis("timestamp").reset_index()
    right = visible.rename_axis("timestamp").reset_index()
    joined = pd.merge_asof(left, right, on="timestamp", direction="backward", allow_exact_matches=True)
    return joined.set_index("timestamp").set_axis(index)


def check_overlap(path: str | Path, external: pd.DataFrame, index: pd.DatetimeIndex) -> None:
    """Raise when the external series and the candles share no time."""
    if external.index[-1] < index[0] or external.index[0] > index[-1]:
        raise DataError(
            f"{path}: covers {external.index[0]} to {external.index[-1]}, which does not overlap the "
            f"candles ({index[0]} to {index[-1]}); supply a series for the same period"
        )

"""Summary statistics of hourly log returns (the sanity checks of the data notebook).

Example:
    >>> from cryptexlab.data.synthetic import synthetic_candles
    >>> stats = describe_returns(synthetic_candles("martingale", 2000, 1).frame)
    >>> round(stats["std"], 4)
    0.0072
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.tsa.stattools import acf


def log_returns(frame: pd.DataFrame) -> pd.Series:
    """Log returns of ``close`` (the first bar has none and is dropped)."""
    return np.log(frame["close"]).diff().dropna().rename("log_return")


def describe_returns(frame: pd.DataFrame) -> dict[str, float]:
    """Std, skew, excess kurtosis, share of up bars, lag-1 autocorrelation of returns and |returns|."""
    r = log_returns(frame)
    return {
        "bars": float(len(r)),
        "mean": float(r.mean()),
        "std": float(r.std(ddof=0)),
        "skew": float(r.skew()),
        "excess_kurtosis": float(r.kurt()),
        "share_up": float((r > 0).mean()),
        "acf1_returns": float(acf(r, nlags=1, fft=True)[1]),
        "acf1_abs_returns": float(acf(r.abs(), nlags=1, fft=True)[1]),
    }

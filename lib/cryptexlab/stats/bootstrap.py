"""Confidence intervals of a statistic of time-ordered windows: the stationary bootstrap.

Consecutive forecast windows have correlated errors (they share bars, and volatility clusters),
so resampling windows one by one would make intervals too narrow. The stationary bootstrap of
Politis and Romano resamples blocks of random, geometrically distributed length; ``arch`` does
the resampling and picks the mean block length (Politis and White's automatic choice, with
Patton, Politis and White's correction) from the per-window errors. Nothing is hand-written
here but the bookkeeping: several independent samples (the folds of a cross-validation) are
resampled each on its own and combined replication by replication.

Example:
    >>> import numpy as np
    >>> errors = np.abs(np.random.default_rng(0).standard_normal(400))
    >>> reps = replicate(len(errors), lambda i: float(errors[i].mean()), reps=200, seed=0, series=errors)
    >>> lo, hi = percentile_interval(reps, 0.95)
    >>> bool(lo < errors.mean() < hi)
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from arch.bootstrap import StationaryBootstrap, optimal_block_length


def block_length(series: np.ndarray) -> float:
    """The stationary bootstrap's mean block length for ``series`` (at least 1)."""
    if len(series) < 10 or not np.isfinite(series).all() or np.ptp(series) == 0:
        return 1.0
    length = float(optimal_block_length(series)["stationary"].iloc[0])
    return max(1.0, length) if np.isfinite(length) else 1.0


def replicate(n: int, statistic: Callable[[np.ndarray], Any], *, reps: int, seed: int,
              series: np.ndarray | None = None, width: int = 1) -> np.ndarray:
    """``reps`` values of ``statistic(indices)`` over stationary-bootstrap resamples of positions 0..n-1:
    shape (reps,), or (reps, width) for a statistic that returns ``width`` values.

    ``series`` (one value per position, e.g. each window's absolute error) sets the block length;
    without it the blocks have mean length 1 (an i.i.d. bootstrap).
    """
    block = block_length(series) if series is not None else 1.0
    # arch annotates block_size as int, but the stationary bootstrap uses p = 1 / block_size: any real >= 1
    bs = StationaryBootstrap(block, np.arange(n), seed=np.random.default_rng(seed))  # type: ignore[arg-type]
    out = bs.apply(statistic, reps)
    return out.ravel() if width == 1 else out.reshape(reps, width)


def percentile_interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """The central ``level`` interval of bootstrap replications (NaN ones ignored)."""
    tail = 100 * (1 - level) / 2
    lo, hi = np.nanpercentile(values, [tail, 100 - tail])
    return float(lo), float(hi)

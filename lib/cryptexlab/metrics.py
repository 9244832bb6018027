"""Accuracy metrics of multi-step forecasts in price units.

Arrays are (W, H): W windows, H horizon steps; ``last`` (W,) is the last observed value of
each window, which is also the random walk's forecast for every step.

Example:
    >>> import numpy as np
    >>> pred, target, last = np.array([[2.0, 3.0]]), np.array([[1.0, 4.0]]), np.array([1.5])
    >>> forecast_metrics(pred, target, last)["mae"]
    1.0
"""

from __future__ import annotations

import numpy as np


def directional_accuracy(pred: np.ndarray, target: np.ndarray, last: np.ndarray) -> float:
    """Share of (window, step) pairs where the forecast move from ``last`` has the realised move's sign.

    Only pairs where both moved count: a flat forecast makes no call (so the random walk, which
    never calls a direction, gets NaN, not 0), and a flat price has no direction to call. 0.5 is
    a coin toss; for BTC hourly data about 0.51 is what chance gives.
    """
    realised = np.sign(target - last[:, None])
    forecast = np.sign(pred - last[:, None])
    called = (realised != 0) & (forecast != 0)
    return float((forecast[called] == realised[called]).mean()) if called.any() else float("nan")


#: Binance spot taker fee per side (0.1%); hourly bars per year for annualising.
COST_PER_SIDE = 0.001
HOURS_PER_YEAR = 24 * 365


def signal_sharpe(pred: np.ndarray, target: np.ndarray, last: np.ndarray, *, returns: bool = False,
                  cost: float = COST_PER_SIDE, periods_per_year: float = HOURS_PER_YEAR) -> float:
    """Annualised Sharpe ratio of trading the forecast's direction one step ahead, after costs.

    Windows must be consecutive bars in time order (as the evaluation loader gives them). The
    position is the sign of the first-step forecast move (+1 long, -1 short, 0 flat); the bar's
    return is target / last - 1 (or the target itself for return targets); each change of
    position pays ``cost`` per unit traded. A strategy that never trades has no Sharpe ratio (NaN).
    """
    move = pred[:, 0] - (0.0 if returns else last)
    position = np.sign(move)
    realised = target[:, 0] if returns else target[:, 0] / last - 1
    turnover = np.abs(np.diff(position, prepend=0.0))
    strategy = position * realised - cost * turnover
    sd = strategy.std()
    return float(strategy.mean() / sd * np.sqrt(periods_per_year)) if sd > 0 and position.any() else float("nan")


def forecast_metrics(pred: np.ndarray, target: np.ndarray, last: np.ndarray, *, returns: bool = False
                     ) -> dict[str, float]:
    """MAE, MSE, MAPE (%), directional accuracy and the forecast signal's Sharpe ratio."""
    return {name: metric(name, pred, target, last, returns=returns) for name in METRIC_NAMES}


#: The metrics of :func:`forecast_metrics`, in order.
METRIC_NAMES = ("mae", "mse", "mape", "directional_accuracy", "sharpe")


def metric(name: str, pred: np.ndarray, target: np.ndarray, last: np.ndarray, *, returns: bool = False) -> float:
    """One metric of :func:`forecast_metrics` by its name (``mae``, ``mse``, ``mape``,
    ``directional_accuracy``, ``sharpe``), computing that one only.

    Example:
        >>> metric("mse", np.array([[2.0, 3.0]]), np.array([[1.0, 4.0]]), np.array([1.5]))
        1.0
    """
    err = pred - target
    if name == "mae":
        return float(np.abs(err).mean())
    if name == "mse":
        return float((err**2).mean())
    if name == "mape":
        return float(100 * np.abs(err / np.where(target == 0, np.nan, target)).mean())
    if name == "directional_accuracy":
        return directional_accuracy(pred, target, last)
    if name == "sharpe":
        return signal_sharpe(pred, target, last, returns=returns)
    raise ValueError(f"unknown metric {name!r}; use one of {', '.join(METRIC_NAMES)}")

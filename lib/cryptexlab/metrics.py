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


def forecast_metrics(pred: np.ndarray, target: np.ndarray, last: np.ndarray) -> dict[str, float]:
    """MAE, MSE, MAPE (%) and directional accuracy."""
    err = pred - target
    return {
        "mae": float(np.abs(err).mean()),
        "mse": float((err**2).mean()),
        "mape": float(100 * np.abs(err / np.where(target == 0, np.nan, target)).mean()),
        "directional_accuracy": directional_accuracy(pred, target, last),
    }

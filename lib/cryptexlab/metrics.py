"""Accuracy and trading metrics of multi-step forecasts in price units.

Arrays are (W, H): W windows, H horizon steps; ``last`` (W,) is the last observed value of
each window, which is also the random walk's forecast for every step.

Trading (:func:`strategy_returns`, :func:`trading_metrics`, :func:`trading_table`): the position
at each bar is the sign of the first-step forecast move (+1 long, -1 short, 0 flat), held for one
bar; each change of position pays the cost per side plus slippage on the amount traded. Sharpe
and Sortino ratios are annualised for the data's own bar size (:func:`bars_per_year`: 8,760 for
hourly bars, 2,190 for 4-hour bars, 365 for daily bars), never with a fixed hourly factor.
Sharpe uses the sample standard deviation (ddof 1) and Sortino the downside deviation below zero,
as ``empyrical`` does (the tests compare them with it).

Example:
    >>> import numpy as np
    >>> pred, target, last = np.array([[2.0, 3.0]]), np.array([[1.0, 4.0]]), np.array([1.5])
    >>> forecast_metrics(pred, target, last)["mae"]
    1.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptexlab.errors import ParamsError


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


#: Binance spot taker fee per side (0.1%); hourly bars per year (the default annualisation).
COST_PER_SIDE = 0.001
HOURS_PER_YEAR = 24 * 365
SECONDS_PER_YEAR = 365 * 24 * 3600


def bars_per_year(bar: str | pd.DatetimeIndex) -> float:
    """Bars in a (365-day) year for a bar size (``"1h"``, ``"4h"``, ``"1D"``) or an index's median spacing.

    Example:
        >>> bars_per_year("1h"), bars_per_year("4h"), bars_per_year("1D")
        (8760.0, 2190.0, 365.0)

    Raises:
        ParamsError: a bar that is not a pandas frequency, or an index of fewer than two bars.
    """
    if isinstance(bar, pd.DatetimeIndex):
        if len(bar) < 2:
            raise ParamsError(f"an index of {len(bar)} bar(s) has no bar size; annualising needs at least two bars")
        seconds = pd.Series(bar).diff().median().total_seconds()
    else:
        try:
            seconds = pd.Timedelta(pd.tseries.frequencies.to_offset(bar)).total_seconds()
        except (ValueError, TypeError) as err:
            raise ParamsError(f"bar {bar!r} is not a bar size; use a pandas frequency such as 1h, 4h or 1D") from err
    if seconds <= 0:
        raise ParamsError(f"bar {bar!r} has no positive length; use a pandas frequency such as 1h")
    return SECONDS_PER_YEAR / seconds


def positions(pred: np.ndarray, last: np.ndarray, *, returns: bool = False) -> np.ndarray:
    """The position each window takes for its first bar: the sign of the first-step forecast move."""
    return np.sign(pred[:, 0] - (0.0 if returns else last))


def bar_returns(target: np.ndarray, last: np.ndarray, *, returns: bool = False) -> np.ndarray:
    """The first forecast bar's simple return of each window (target / last - 1; for log-return targets exp - 1)."""
    return np.expm1(target[:, 0]) if returns else target[:, 0] / last - 1


def strategy_returns(position: np.ndarray, realised: np.ndarray, *, cost: float = COST_PER_SIDE,
                     slippage: float = 0.0) -> np.ndarray:
    """Net return of each bar: position x the bar's return, less (cost + slippage) x the position change.

    The first bar pays for entering from flat.

    Example:
        >>> strategy_returns(np.array([1.0, 1.0, -1.0]), np.array([0.01, 0.02, -0.01]), cost=0.001).round(4).tolist()
        [0.009, 0.02, 0.008]
    """
    if cost < 0 or slippage < 0:
        raise ParamsError(f"cost={cost} and slippage={slippage} must be >= 0 (fractions per side, 0.001 = 10 bp)")
    traded = np.abs(np.diff(position, prepend=0.0))
    return position * realised - (cost + slippage) * traded


def trading_metrics(net: np.ndarray, position: np.ndarray, periods_per_year: float = HOURS_PER_YEAR
                    ) -> dict[str, float]:
    """Sharpe, Sortino (annualised), total and annual return, maximum drawdown, win rate, turnover, exposure.

    ``win_rate`` is the share of bars in the market whose net return is positive (NaN if never
    in the market); ``turnover`` the mean absolute position change per bar; ``exposure`` the share
    of bars in the market. A strategy with constant returns has no Sharpe ratio (NaN).
    """
    net = np.asarray(net, dtype=float)
    ann = float(periods_per_year)
    sd = net.std(ddof=1) if len(net) > 1 else 0.0
    downside = np.sqrt(np.mean(np.minimum(net, 0.0) ** 2))
    wealth = np.cumprod(1 + net)
    peak = np.maximum.accumulate(np.concatenate([[1.0], wealth]))[1:]
    held = position != 0
    return {
        "sharpe": float(net.mean() / sd * np.sqrt(ann)) if sd > 0 else float("nan"),
        "sortino": float(net.mean() * ann / (downside * np.sqrt(ann))) if downside > 0 else float("nan"),
        "total_return": float(wealth[-1] - 1) if len(net) else 0.0,
        "annual_return": float(wealth[-1] ** (ann / len(net)) - 1) if len(net) else 0.0,
        "max_drawdown": float((wealth / peak - 1).min()) if len(net) else 0.0,
        "win_rate": float((net[held] > 0).mean()) if held.any() else float("nan"),
        "turnover": float(np.abs(np.diff(position, prepend=0.0)).mean()) if len(net) else 0.0,
        "exposure": float(held.mean()) if len(net) else 0.0,
    }


def trading_table(forecasts: dict[str, np.ndarray], target: np.ndarray, last: np.ndarray, *,
                  returns: bool = False, cost: float = COST_PER_SIDE, slippage: float = 0.0,
                  periods_per_year: float = HOURS_PER_YEAR) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trading metrics of each forecast's strategy beside buy-and-hold and flat, and their net returns.

    Windows must be consecutive bars in time order (the test period's windows): window i trades
    bar i's first forecast step. Buy-and-hold pays one entry; flat never trades.

    Returns:
        (one row per strategy with :func:`trading_metrics`, the net return of every bar per strategy)
    """
    realised = bar_returns(target, last, returns=returns)
    nets: dict[str, np.ndarray] = {}
    rows = {}
    for name, pred in forecasts.items():
        pos = positions(pred, last, returns=returns)
        nets[name] = strategy_returns(pos, realised, cost=cost, slippage=slippage)
        rows[name] = trading_metrics(nets[name], pos, periods_per_year)
    for name, pos in (("buy_and_hold", np.ones(len(realised))), ("flat", np.zeros(len(realised)))):
        nets[name] = strategy_returns(pos, realised, cost=cost, slippage=slippage)
        rows[name] = trading_metrics(nets[name], pos, periods_per_year)
    return pd.DataFrame(rows).T, pd.DataFrame(nets)


def signal_sharpe(pred: np.ndarray, target: np.ndarray, last: np.ndarray, *, returns: bool = False,
                  cost: float = COST_PER_SIDE, periods_per_year: float = HOURS_PER_YEAR) -> float:
    """Annualised Sharpe ratio of trading the forecast's direction one step ahead, after costs.

    Windows must be consecutive bars in time order (as the evaluation loader gives them); see
    :func:`strategy_returns`. A strategy that never trades has no Sharpe ratio (NaN).
    """
    position = positions(pred, last, returns=returns)
    if not position.any():
        return float("nan")
    net = strategy_returns(position, bar_returns(target, last, returns=returns), cost=cost)
    return trading_metrics(net, position, periods_per_year)["sharpe"]


def forecast_metrics(pred: np.ndarray, target: np.ndarray, last: np.ndarray, *, returns: bool = False,
                     periods_per_year: float = HOURS_PER_YEAR) -> dict[str, float]:
    """MAE, MSE, MAPE (%), directional accuracy and the forecast signal's Sharpe ratio (annualised
    with ``periods_per_year``: :func:`bars_per_year` of the data's bar)."""
    return {name: metric(name, pred, target, last, returns=returns, periods_per_year=periods_per_year)
            for name in METRIC_NAMES}


#: The metrics of :func:`forecast_metrics`, in order.
METRIC_NAMES = ("mae", "mse", "mape", "directional_accuracy", "sharpe")


def metric(name: str, pred: np.ndarray, target: np.ndarray, last: np.ndarray, *, returns: bool = False,
           periods_per_year: float = HOURS_PER_YEAR) -> float:
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
        return signal_sharpe(pred, target, last, returns=returns, periods_per_year=periods_per_year)
    raise ValueError(f"unknown metric {name!r}; use one of {', '.join(METRIC_NAMES)}")

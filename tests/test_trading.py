"""Trading metrics: exact small cases, empyrical-reloaded as the cross-check, bar-size annualisation."""

from __future__ import annotations

import empyrical
import numpy as np
import pandas as pd
import pytest

from cryptexlab.errors import ParamsError
from cryptexlab.metrics import (
    bars_per_year,
    positions,
    signal_sharpe,
    strategy_returns,
    trading_metrics,
    trading_table,
)


def test_bars_per_year_follows_the_bar_size() -> None:
    assert bars_per_year("1h") == 8760.0
    assert bars_per_year("4h") == 2190.0
    assert bars_per_year("1D") == 365.0
    assert bars_per_year(pd.date_range("2024-01-01", periods=10, freq="4h", tz="UTC")) == 2190.0
    with pytest.raises(ParamsError, match="'fortnightish' is not a bar size"):
        bars_per_year("fortnightish")
    with pytest.raises(ParamsError, match="an index of 1 bar"):
        bars_per_year(pd.date_range("2024-01-01", periods=1, freq="1h"))


def test_sharpe_on_daily_bars_is_not_annualised_as_hourly() -> None:
    """The old fixed sqrt(8760) overstated a daily Sharpe by sqrt(8760 / 365) = 4.9x and a 4-hourly one by
    sqrt(8760 / 2190) = 2x (six 4-hour bars a day: 2,190 a year; the issue's 2.45x is sqrt(6), bars per day)."""
    rng = np.random.default_rng(0)
    last = 100 + np.cumsum(rng.standard_normal(400))
    target = (last * (1 + 0.01 * rng.standard_normal(400)))[:, None]
    pred = target + rng.standard_normal(target.shape)
    hourly = signal_sharpe(pred, target, last, periods_per_year=bars_per_year("1h"))
    daily = signal_sharpe(pred, target, last, periods_per_year=bars_per_year("1D"))
    four = signal_sharpe(pred, target, last, periods_per_year=bars_per_year("4h"))
    assert hourly / daily == pytest.approx(np.sqrt(24))
    assert hourly / four == pytest.approx(2.0)


def test_strategy_returns_pay_costs_on_every_change() -> None:
    pos = np.array([1.0, 1.0, -1.0, 0.0])
    realised = np.array([0.01, 0.02, -0.01, 0.05])
    net = strategy_returns(pos, realised, cost=0.001, slippage=0.0005)
    assert net.tolist() == pytest.approx([0.01 - 0.0015, 0.02, 0.01 - 0.003, -0.0015])
    with pytest.raises(ParamsError, match="cost=-0.001 and slippage=0.0 must be >= 0"):
        strategy_returns(pos, realised, cost=-0.001)


def test_trading_metrics_agree_with_empyrical() -> None:
    rng = np.random.default_rng(1)
    net = 0.0003 + 0.01 * rng.standard_normal(3000)
    pos = np.sign(rng.standard_normal(3000))
    ours = trading_metrics(net, pos, periods_per_year=2190)
    assert ours["sharpe"] == pytest.approx(empyrical.sharpe_ratio(net, annualization=2190))
    assert ours["sortino"] == pytest.approx(empyrical.sortino_ratio(net, annualization=2190))
    assert ours["max_drawdown"] == pytest.approx(empyrical.max_drawdown(net))
    assert ours["total_return"] == pytest.approx(empyrical.cum_returns_final(net))
    assert ours["annual_return"] == pytest.approx(empyrical.annual_return(net, annualization=2190))


def test_win_rate_turnover_and_exposure_are_exact() -> None:
    pos = np.array([1.0, 1.0, 0.0, -1.0])
    net = np.array([0.01, -0.02, 0.0, 0.03])
    m = trading_metrics(net, pos)
    assert m["win_rate"] == pytest.approx(2 / 3)
    assert m["turnover"] == pytest.approx((1 + 0 + 1 + 1) / 4)
    assert m["exposure"] == pytest.approx(0.75)


def test_trading_table_has_buy_and_hold_and_flat() -> None:
    last = np.array([100.0, 101.0, 102.0, 101.0])
    target = np.array([[101.0], [102.0], [101.0], [103.0]])
    perfect = target.copy()
    table, nets = trading_table({"perfect": perfect}, target, last, cost=0.0)
    assert list(table.index) == ["perfect", "buy_and_hold", "flat"]
    assert (nets["perfect"] >= 0).all()
    assert nets["flat"].abs().sum() == 0
    assert table.loc["buy_and_hold", "total_return"] == pytest.approx(103 / 100 * 101 / 101 * 1 - 1, rel=1e-2)
    assert positions(perfect, last).tolist() == [1.0, 1.0, -1.0, 1.0]

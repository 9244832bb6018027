"""Long series are drawn decimated (MinMaxLTTB) while every statistic uses every bar."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptexlab.data.splits import split_periods
from cryptexlab.errors import ParamsError
from cryptexlab.params import SplitConfig
from cryptexlab.plots.data import periods_figure, regimes_figure
from cryptexlab.plots.decimate import DISPLAY_POINTS, display_positions


def _walk(n: int, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2020-01-01", periods=n, freq="1h", tz="UTC")
    return pd.Series(30_000 * np.exp(np.cumsum(rng.normal(0, 0.007, n))), index=index, name="close")


def test_short_series_are_drawn_whole() -> None:
    assert display_positions(np.arange(10.0), max_points=100).tolist() == list(range(10))


def test_long_series_keep_ends_and_extremes() -> None:
    y = _walk(40_000).to_numpy().copy()
    y[12_345] = y.max() * 1.5   # a spike and a crash that a plain every-20th-bar thinning would miss
    y[23_457] = y.min() * 0.5
    pos = display_positions(y, max_points=2000)
    assert len(pos) == 2000 and np.all(np.diff(pos) > 0)
    assert pos[0] == 0 and pos[-1] == 39_999
    assert 12_345 in pos and 23_457 in pos


def test_nan_values_are_allowed() -> None:
    y = _walk(10_000).to_numpy().copy()
    y[100:200] = np.nan
    pos = display_positions(y, max_points=500)
    assert len(pos) <= 500 and pos[0] == 0 and pos[-1] == 9_999


def test_too_few_points_is_refused() -> None:
    with pytest.raises(ParamsError, match="max_points must be at least 3 to keep both ends of a series, got 2"):
        display_positions(np.arange(10.0), max_points=2)


def test_periods_and_regimes_figures_draw_at_most_the_display_points() -> None:
    close = _walk(40_000)
    frame = close.to_frame()
    periods = split_periods(frame.index, SplitConfig(), gap=24)
    fig = periods_figure(frame, periods)
    assert len(fig.data[0].x) == DISPLAY_POINTS
    labels = pd.Series(np.arange(40_000) % 3, index=close.index, dtype=float)
    fig = regimes_figure(close, labels)
    assert sum(len(t.x) for t in fig.data) == DISPLAY_POINTS
    # the legend's shares count every bar, not the drawn ones
    assert [t.name for t in fig.data] == ["regime 0 (33% of bars)", "regime 1 (33% of bars)", "regime 2 (33% of bars)"]

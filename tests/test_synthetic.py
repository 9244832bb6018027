"""The embedded default series: determinism, calibration and the known answers of the variants.

Tolerances are for 40,000 hours (the size of the real file); they hold for every seed tried
(0-9) and are wide enough that a fat-tailed sample does not trip them by chance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.ar_model import AutoReg

from cryptexlab.data.summary import describe_returns, log_returns
from cryptexlab.data.synthetic import TARGET_HOURLY_STD, VARIANTS, synthetic_candles, synthetic_frame
from cryptexlab.errors import DataError

N = 40_000


@pytest.fixture(scope="module", params=list(VARIANTS))
def series(request):
    return request.param, synthetic_candles(request.param, N, seed=3)


def test_same_seed_same_series() -> None:
    a, b = synthetic_frame("default", 3000, 11), synthetic_frame("default", 3000, 11)
    pd.testing.assert_frame_equal(a, b)


def test_other_seed_other_series() -> None:
    assert not synthetic_frame("default", 3000, 1)["close"].equals(synthetic_frame("default", 3000, 2)["close"])


def test_labelled_synthetic(series) -> None:
    kind, data = series
    assert data.report.synthetic is True
    assert data.report.source.startswith(f"synthetic:{kind}")


def test_hourly_std_matches_real_file(series) -> None:
    _, data = series
    assert describe_returns(data.frame)["std"] == pytest.approx(TARGET_HOURLY_STD, rel=0.01)


def test_fat_tails_and_volatility_clustering(series) -> None:
    _, data = series
    stats = describe_returns(data.frame)
    assert stats["excess_kurtosis"] > 3  # the real file: about 50; a normal: 0
    assert stats["acf1_abs_returns"] > 0.1  # the real file: 0.29; white noise: 0


def test_up_share_near_half(series) -> None:
    _, data = series
    assert 0.48 < describe_returns(data.frame)["share_up"] < 0.52


def test_ohlc_consistent(series) -> None:
    _, data = series
    f = data.frame
    assert (f["high"] >= f[["open", "close"]].max(axis=1)).all()
    assert (f["low"] <= f[["open", "close"]].min(axis=1)).all()
    assert (f["open"].iloc[1:].to_numpy() == f["close"].iloc[:-1].to_numpy()).all()
    assert (f["volume"] > 0).all()


def test_ar1_coefficient_is_the_known_answer(series) -> None:
    """The planted variant carries phi = 0.10; martingale 0; default -0.02 (the real file's)."""
    kind, data = series
    r = log_returns(data.frame).to_numpy()
    fit = AutoReg(r, lags=1, trend="c").fit()
    phi_hat, se = fit.params[1], fit.bse[1]
    assert abs(phi_hat - VARIANTS[kind].phi) < 4 * se


def test_intraday_volatility_seasonality() -> None:
    f = synthetic_candles("martingale", N, seed=5).frame
    r = log_returns(f)
    by_hour = r.abs().groupby(r.index.hour).mean()
    assert by_hour.loc[15] > 1.3 * by_hour.loc[3]  # peak at 15:00 UTC, trough at 03:00
    weekend = r.index.day_of_week >= 5
    assert r[~weekend].abs().mean() > 1.15 * r[weekend].abs().mean()


def test_unknown_kind() -> None:
    with pytest.raises(DataError, match=r"unknown synthetic kind 'chaos'; use one of default, martingale, planted"):
        synthetic_frame("chaos", 1000, 1)  # type: ignore[arg-type]


def test_too_short() -> None:
    with pytest.raises(DataError, match=r"hours must be at least 100 for a usable series, got 50"):
        synthetic_frame("default", 50, 1)


def test_frame_round_trips_through_the_loader(tmp_path) -> None:
    from cryptexlab.data.candles import load_candles
    from cryptexlab.data.synthetic import write_cryptex_csv

    path = write_cryptex_csv(synthetic_frame("planted", 500, 4), tmp_path / "s.csv")
    assert path.read_text().splitlines()[0] == "timestamp,open,close,high,low,volume"
    loaded = load_candles(path).frame
    direct = synthetic_candles("planted", 500, 4).frame
    np.testing.assert_allclose(loaded.to_numpy(), direct.to_numpy())

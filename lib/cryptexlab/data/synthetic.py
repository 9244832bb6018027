"""The embedded default data: a deterministic, BTC-like synthetic hourly series.

Hourly log returns ``r_t = mu + phi * (r_{t-1} - mu) + s_t * e_t`` where

* ``e_t`` is a GARCH(1,1) process with Student-t innovations (nu = 5), simulated by the
  ``arch`` package's own GARCH recursion: fat tails and volatility clustering;
* ``s_t`` is a seasonal volatility factor: higher in the US/EU overlap (peak 15:00 UTC),
  lower at weekends, normalised to mean square 1;
* ``phi`` is the AR(1) coefficient of the variant (below) and ``mu`` a small drift.

The series is rescaled so that the hourly return std is exactly 0.72%, the figure of the
real Binance.us file (../shared/data/README.md). Each hour's price path is built from 12
five-minute sub-steps (a Brownian bridge pinned to the hour's return), so open, high, low and
close are consistent by construction: open = previous close, high/low = extremes of the path.
Volume (in BTC) follows the same intraday and weekly pattern and rises with |return|.

Variants (``kind``):

=============  ======  ========  =======================================================
kind           phi     mu/hour   what it is for
=============  ======  ========  =======================================================
default        -0.02   3e-5      calibrated to the real file (lag-1 autocorr -0.019)
martingale     0       0         returns unpredictable by construction: nothing may beat
                                 the random walk here beyond chance
planted        +0.10   0         a weak predictable component: an AR(1) forecaster
                                 explains phi^2 = 1% of return variance
planted_exog   0       0         martingale returns plus an exogenous series that leads
                                 them: the value published at hour k (visible from k + 1 h,
                                 ``EXOG_LAG_HOURS``) explains ``exog_r2`` (10%) of the
                                 variance of the return of the bar after the one it is
                                 visible at
noise_exog     0       0         the same exogenous series, but independent of the returns
=============  ======  ========  =======================================================

The exogenous variants' series (:func:`synthetic_exog`) enters the features through the
CRYPTEX_EXTERNAL path, as-of joined with its publication lag like a user's external CSV, as the
column ``exog_signal``; the other feature sets do not see it.

Example:
    >>> data = synthetic_candles(kind="martingale", hours=1000, seed=1)
    >>> data.report.synthetic, data.report.rows
    (True, 1000)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from arch.univariate import GARCH
from scipy.signal import lfilter

from cryptexlab.data.candles import CandleData, validate_candles
from cryptexlab.errors import DataError

Kind = Literal["default", "martingale", "planted", "planted_exog", "noise_exog"]

#: Hourly log-return std of the real BTC-USDT file (0.72%).
TARGET_HOURLY_STD = 0.0072
#: GARCH(1,1) persistence typical of hourly crypto returns; nu of the t innovations.
GARCH_ALPHA, GARCH_BETA, T_DOF = 0.08, 0.90, 5.0
SUBSTEPS = 12
START = pd.Timestamp("2019-09-23 08:00", tz="UTC")
START_PRICE = 9930.13
BASE_VOLUME_BTC = 60.0
#: Publication delay of the exogenous variants' series, in hours, and its default R² on the next return.
EXOG_LAG_HOURS = 1.0
EXOG_R2 = 0.10


@dataclass(frozen=True)
class Variant:
    """The known answer of a synthetic variant."""

    phi: float
    drift: float
    #: the exogenous series: none, one that leads the returns, or one independent of them
    exog: Literal["none", "leads", "noise"] = "none"


VARIANTS: dict[str, Variant] = {
    "default": Variant(phi=-0.02, drift=3e-5),
    "martingale": Variant(phi=0.0, drift=0.0),
    "planted": Variant(phi=0.10, drift=0.0),
    "planted_exog": Variant(phi=0.0, drift=0.0, exog="leads"),
    "noise_exog": Variant(phi=0.0, drift=0.0, exog="noise"),
}


def has_exog(kind: str) -> bool:
    """Whether a synthetic kind comes with an exogenous series."""
    return kind in VARIANTS and VARIANTS[kind].exog != "none"


def synthetic_exog(kind: Kind, hours: int = 8760, seed: int = 7) -> pd.DataFrame:
    """The exogenous series of ``planted_exog`` / ``noise_exog``: one standard-normal column ``signal``
    on its publication times (one value per hour, published at the hour's timestamp).

    Raises:
        DataError: for a kind without an exogenous series.
    """
    if not has_exog(kind):
        raise DataError(f"synthetic kind {kind!r} has no exogenous series; use planted_exog or noise_exog")
    x = np.random.default_rng([seed, 1]).standard_normal(hours)
    index = pd.DatetimeIndex(pd.date_range(START, periods=hours, freq="1h"), name="timestamp")
    return pd.DataFrame({"signal": x}, index=index)


def synthetic_candles(kind: Kind = "default", hours: int = 8760, seed: int = 7, phi: float | None = None,
                      exog_r2: float | None = None) -> CandleData:
    """Generate the synthetic series and validate it through the same path as a CSV.

    Args:
        kind: ``default``, ``martingale`` or ``planted`` (see the module docstring).
        hours: Number of hourly bars (at least 100).
        seed: Random seed; the same (kind, hours, seed) always gives the same candles.
        phi: The AR(1) coefficient instead of the kind's (a stronger or weaker planted signal).
        exog_r2: ``planted_exog``: the share of the return variance the exogenous series explains
            (default ``EXOG_R2``).

    Raises:
        DataError: for an unknown kind or too few hours.
    """
    raw = synthetic_frame(kind, hours, seed, phi, exog_r2)
    strength = "" if phi is None else f", phi={phi:g}"
    strength += "" if exog_r2 is None else f", exog_r2={exog_r2:g}"
    source = f"synthetic:{kind} (seed={seed}, hours={hours}{strength})"
    return validate_candles(raw, source=source, freq="1h", synthetic=True)


def synthetic_frame(kind: Kind = "default", hours: int = 8760, seed: int = 7, phi: float | None = None,
                    exog_r2: float | None = None) -> pd.DataFrame:
    """The synthetic candles as a raw Cryptex-layout frame (``timestamp`` in Unix seconds)."""
    if kind not in VARIANTS:
        raise DataError(f"unknown synthetic kind {kind!r}; use one of {', '.join(VARIANTS)}")
    if hours < 100:
        raise DataError(f"hours must be at least 100 for a usable series, got {hours}")
    variant = VARIANTS[kind] if phi is None else Variant(phi=phi, drift=VARIANTS[kind].drift)
    rng = np.random.default_rng(seed)
    index = pd.date_range(START, periods=hours, freq="1h")
    season = _seasonal_vol(index)

    e, sigma = _garch(hours, rng)
    u = season * e
    r = lfilter([1.0], [1.0, -variant.phi], u)  # AR(1): r_t = phi * r_{t-1} + u_t
    if variant.exog == "leads":  # r_j = sqrt(1 - R²) u_j + sqrt(R²) x_{j - 1 - lag}: x_k is visible at bar k + lag
        r2 = EXOG_R2 if exog_r2 is None else exog_r2
        shift = 1 + int(EXOG_LAG_HOURS)
        lead = np.concatenate([np.zeros(shift), synthetic_exog(kind, hours, seed)["signal"].to_numpy()[:-shift]])
        r = np.sqrt(1 - r2) * r / r.std() + np.sqrt(r2) * lead
    scale = TARGET_HOURLY_STD / r.std()
    r = r * scale + variant.drift
    local_vol = season * sigma * scale

    close = START_PRICE * np.exp(np.cumsum(r))
    open_ = np.concatenate([[START_PRICE], close[:-1]])
    high, low = _intrahour_extremes(open_, r, local_vol, rng)
    volume = _volume(index, r, rng)
    return pd.DataFrame(
        {
            "timestamp": index.as_unit("s").asi8.astype(np.int64),
            "open": open_.round(2),
            "close": close.round(2),
            "high": np.maximum(high, np.maximum(open_, close)).round(2),
            "low": np.minimum(low, np.minimum(open_, close)).round(2),
            "volume": volume.round(6),
        }
    )


def write_cryptex_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a raw Cryptex-layout frame in the file's own column order."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame[["timestamp", "open", "close", "high", "low", "volume"]].to_csv(path, index=False)
    return path


def _garch(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Unit-variance GARCH(1,1)-t residuals and their conditional std (arch's recursion)."""
    omega = 1.0 - GARCH_ALPHA - GARCH_BETA
    t_scale = np.sqrt((T_DOF - 2.0) / T_DOF)

    def draws(size: int | tuple[int, ...]) -> np.ndarray:
        return rng.standard_t(T_DOF, size) * t_scale

    resids, variance = GARCH().simulate([omega, GARCH_ALPHA, GARCH_BETA], n, draws, burn=500)
    return np.asarray(resids), np.sqrt(np.asarray(variance))


def _seasonal_vol(index: pd.DatetimeIndex) -> np.ndarray:
    """Intraday (peak 15:00 UTC) and weekly (quiet weekends) volatility factor, mean square 1."""
    hour = index.hour.to_numpy()
    weekend = index.day_of_week.to_numpy() >= 5
    factor = (1.0 + 0.3 * np.cos(2 * np.pi * (hour - 15) / 24)) * np.where(weekend, 0.75, 1.0)
    return factor / np.sqrt(np.mean(factor**2))


def _intrahour_extremes(
    open_: np.ndarray, r: np.ndarray, vol: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """High and low of a 12-step Brownian bridge from open to close within each hour."""
    n = len(r)
    steps = rng.standard_normal((n, SUBSTEPS)) / np.sqrt(SUBSTEPS)
    walk = np.cumsum(steps, axis=1)
    frac = np.arange(1, SUBSTEPS + 1) / SUBSTEPS
    bridge = walk - frac * walk[:, -1:]  # zero at both ends
    path = frac * r[:, None] + vol[:, None] * bridge  # log-price relative to open; ends at r
    return open_ * np.exp(path.max(axis=1).clip(min=0)), open_ * np.exp(path.min(axis=1).clip(max=0))


def _volume(index: pd.DatetimeIndex, r: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Volume in BTC: intraday and weekly pattern, log-normal noise, more on large moves."""
    hour = index.hour.to_numpy()
    weekend = index.day_of_week.to_numpy() >= 5
    pattern = (1.0 + 0.4 * np.cos(2 * np.pi * (hour - 15) / 24)) * np.where(weekend, 0.6, 1.0)
    surprise = np.abs(r) / TARGET_HOURLY_STD
    noise = np.exp(0.4 * rng.standard_normal(len(r)) - 0.08)
    return BASE_VOLUME_BTC * pattern * noise * (0.5 + 0.5 * surprise)

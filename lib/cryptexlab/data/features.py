"""The five feature sets of the design, each a causal transformation of candles.

==================== =========================================================================
set                  columns (besides the basic ones)
==================== =========================================================================
CRYPTEX_BASIC        open, high, low, close, volume, log_return
CRYPTEX_ENHANCED     + 79 technical features of :mod:`cryptexlab.data.indicators` (trend,
                     momentum, volatility, volume, candle shape) + 7 calendar features
CRYPTEX_EXTERNAL     + external CSV series joined as-of with a publication lag
                     (:mod:`cryptexlab.data.external`) + 7 calendar features
CRYPTEX_MULTISCALE   + for each timeframe (1h, 4h, 1d by default): last closed bar's log return,
                     realised volatility over 6 bars, RSI(14), close / SMA(20) - 1,
                     (high - low) / close; coarse bars enter only once they have closed
CRYPTEX_REGIME_AWARE + regime label (one-hot) and filtered regime probabilities of an HMM fit
                     on the training period only (:mod:`cryptexlab.data.regimes`)
==================== =========================================================================

``data.feature_families`` keeps only some families of CRYPTEX_ENHANCED (trend, momentum,
volatility, volume, candle, calendar) besides the basic columns; the search tries subsets of them.

Calendar features: sin and cos of hour-of-day, day-of-week and month (cyclical encodings) and
an is-weekend flag, all from the bar's own timestamp.

Causality: a feature at bar t depends on bars up to t only (tested by changing every bar after
t). The exception is by design: the regime HMM's parameters come from the training period, so
changing training bars changes the fit, as with any scaler; bars after the training period never
influence anything before them. Warm-up rows, where a long window is not yet defined, are
dropped and counted (``warmup_rows``), never back-filled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import get_args

import numpy as np
import pandas as pd
import ta

from cryptexlab.data.candles import FREQS, resample_candles
from cryptexlab.data.external import asof_join, check_overlap, load_external
from cryptexlab.data.indicators import ENHANCED_WARMUP, enhanced_features
from cryptexlab.data.regimes import RegimeModel, filter_regimes, fit_regimes, regime_inputs
from cryptexlab.errors import DataError
from cryptexlab.params import FeatureSetName
from cryptexlab.paths import resolve

#: The feature sets, in the order of the schema's ``FeatureSetName`` (their one source).
FEATURE_SETS: tuple[str, ...] = get_args(FeatureSetName)
BASIC_COLUMNS = ["open", "high", "low", "close", "volume", "log_return"]


@dataclass(frozen=True)
class ExternalSource:
    """One external CSV: its path, the columns to use (None = all numeric) and the lag."""

    path: str
    lag_hours: float = 1.0
    columns: tuple[str, ...] | None = None
    prefix: str = ""
    #: the series itself (publication-time index), instead of reading ``path``: the synthetic exogenous
    #: variants deliver theirs this way, through the same as-of join
    frame: pd.DataFrame | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class FeatureOptions:
    """What a feature set needs besides the candles."""

    external: tuple[ExternalSource, ...] = ()
    timeframes: tuple[str, ...] = ("1h", "4h", "1d")
    n_regimes: int = 3
    train_end: pd.Timestamp | None = None  # last bar of the training period (regimes)
    seed: int = 0
    families: tuple[str, ...] | None = None  # CRYPTEX_ENHANCED: the families to keep (None = all)


@dataclass(frozen=True)
class FeatureFrame:
    """Features after the warm-up rows were dropped."""

    feature_set: str
    frame: pd.DataFrame
    warmup_rows: int
    regimes: pd.Series | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Feature column names."""
        return list(self.frame.columns)


def build_features(candles: pd.DataFrame, feature_set: str, options: FeatureOptions = FeatureOptions()) -> FeatureFrame:
    """Compute a feature set from validated candles and drop its warm-up rows.

    Raises:
        DataError: unknown set name (listing the valid ones), or a problem with its inputs.
    """
    if feature_set not in FEATURE_SETS:
        raise DataError(f"unknown feature set {feature_set!r}; valid names: {', '.join(FEATURE_SETS)}")
    base = basic_features(candles)
    regimes = None
    if feature_set == "CRYPTEX_BASIC":
        frame = base
    elif feature_set == "CRYPTEX_ENHANCED":
        families = options.families
        calendar = [calendar_features(candles.index)] if families is None or "calendar" in families else []
        frame = pd.concat([base, enhanced_features(candles, families), *calendar], axis=1)
    elif feature_set == "CRYPTEX_EXTERNAL":
        frame = pd.concat([base, external_features(candles.index, options.external),
                           calendar_features(candles.index)], axis=1)
    elif feature_set == "CRYPTEX_MULTISCALE":
        frame = pd.concat([base, multiscale_features(candles, options.timeframes)], axis=1)
    else:
        extra, regimes = regime_features(candles, options)
        frame = pd.concat([base, extra], axis=1)
    declared = ENHANCED_WARMUP if feature_set == "CRYPTEX_ENHANCED" else 1
    warmup = max(declared, _first_complete_row(frame, feature_set))
    frame = frame.iloc[warmup:]
    if frame.empty:
        raise DataError(f"{feature_set}: all {len(candles)} rows are warm-up ({warmup} needed); use more data")
    return FeatureFrame(feature_set, frame, warmup, None if regimes is None else regimes.iloc[warmup:])


def basic_features(candles: pd.DataFrame) -> pd.DataFrame:
    """The candle columns and the log return of close."""
    out = candles[["open", "high", "low", "close", "volume"]].copy()
    out["log_return"] = np.log(candles["close"]).diff()
    return out


def calendar_features(index: pd.DatetimeIndex) -> pd.DataFrame:
    """Cyclical hour, weekday and month encodings and a weekend flag (UTC)."""
    hour, dow, month = index.hour.to_numpy(), index.day_of_week.to_numpy(), index.month.to_numpy() - 1
    cols = {}
    for name, value, period in (("hour", hour, 24), ("dow", dow, 7), ("month", month, 12)):
        cols[f"{name}_sin"] = np.sin(2 * np.pi * value / period)
        cols[f"{name}_cos"] = np.cos(2 * np.pi * value / period)
    cols["is_weekend"] = (dow >= 5).astype(float)
    return pd.DataFrame(cols, index=index)


def external_features(index: pd.DatetimeIndex, sources: Sequence[ExternalSource]) -> pd.DataFrame:
    """As-of joined external columns, named ``<prefix or file stem>_<column>``."""
    if not sources:
        return pd.DataFrame(index=index)
    parts = []
    for src in sources:
        ext = src.frame if src.frame is not None else load_external(resolve(src.path))
        check_overlap(src.path, ext, index)
        if src.columns:
            missing = [c for c in src.columns if c not in ext.columns]
            if missing:
                raise DataError(f"{src.path}: no column(s) {missing}; it has {list(ext.columns)}")
            ext = ext[list(src.columns)]
        prefix = src.prefix or (src.path if src.frame is not None else resolve(src.path).stem)
        parts.append(asof_join(index, ext, src.lag_hours).add_prefix(f"{prefix}_"))
    return pd.concat(parts, axis=1)


def multiscale_features(candles: pd.DataFrame, timeframes: Sequence[str]) -> pd.DataFrame:
    """Per-timeframe features aligned to the hourly index using closed coarse bars only.

    A coarse bar labelled L spanning S is complete when the hourly bar L + S - 1h closes, so its
    features are shifted to that row and carried forward until the next coarse bar completes.
    """
    base_step = candles.index[1] - candles.index[0]
    parts = []
    for tf in timeframes:
        if tf not in FREQS:
            raise DataError(f"unknown timeframe {tf!r}; use some of {', '.join(FREQS)}")
        span = FREQS[tf]
        bars = candles if span == base_step else resample_candles(candles, tf)
        feats = pd.DataFrame({
            "ret": np.log(bars["close"]).diff(),
            "vol6": np.log(bars["close"]).diff().rolling(6).std(),
            "rsi14": ta.momentum.RSIIndicator(bars["close"], 14).rsi(),
            "sma20": bars["close"] / bars["close"].rolling(20).mean() - 1,
            "range": (bars["high"] - bars["low"]) / bars["close"],
        }, index=bars.index).add_prefix(f"{tf}_")
        feats.index = feats.index + (span - base_step)  # available at the row of its last hour
        parts.append(feats.reindex(candles.index, method="ffill"))
    return pd.concat(parts, axis=1)


def regime_features(candles: pd.DataFrame, options: FeatureOptions) -> tuple[pd.DataFrame, pd.Series]:
    """Regime one-hot and probabilities from an HMM fit on bars up to ``options.train_end``."""
    inputs = regime_inputs(candles)
    train_end = options.train_end if options.train_end is not None else candles.index[int(len(candles) * 0.7) - 1]
    model: RegimeModel = fit_regimes(inputs.loc[:train_end], options.n_regimes, options.seed)
    labels, probs = filter_regimes(model, inputs)
    onehot = pd.DataFrame({f"regime_{k}": (labels == k).astype(float).where(labels.notna())
                           for k in range(model.n_regimes)}, index=candles.index)
    return pd.concat([inputs[["log_vol"]].rename(columns={"log_vol": "regime_log_vol"}), onehot, probs], axis=1), labels


def _first_complete_row(frame: pd.DataFrame, feature_set: str) -> int:
    complete = frame.notna().all(axis=1).to_numpy()
    if not complete.any():
        raise DataError(f"{feature_set}: no row has every feature defined; use more data")
    first = int(np.argmax(complete))
    later_nan = ~complete[first:]
    if later_nan.any():
        bad = frame.iloc[first:][later_nan]
        cols = bad.columns[bad.isna().any()].tolist()
        raise DataError(f"{feature_set}: features {cols} are undefined after the warm-up, first at "
                        f"{bad.index[0]}; check the input data (an external series with gaps?)")
    return first

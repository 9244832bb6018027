"""The technical features of ``CRYPTEX_ENHANCED``, one table row per feature.

Indicators come from the maintained ``ta`` package; only ratios and realised-volatility
estimators (a line of pandas each) are written here. Every feature at bar t uses bars up to t
only: ``ta``'s rolling windows and exponential averages look back. Two ``ta`` indicators are
left out on purpose: ``DPOIndicator`` fills its lag with the mean of the whole series and
Ichimoku's leading spans are shifted forward, both of which would leak the future.

Prices enter as ratios to the close (``close / SMA - 1``, ``ATR / close``) so that a model
sees the same scale in 2019 and 2024. :data:`ENHANCED_FEATURES` is the full table;
:func:`feature_table` renders it for the docs and the data notebook.

Where an indicator is undefined on a flat no-trade stretch (zero range or zero volume over its
window), it carries its last value forward (a causal fill).

The longest look-back is 200 bars (``sma_ratio_200``); :data:`ENHANCED_WARMUP` rows are
dropped at the start, which also lets the exponential averages forget their initial value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TypeAlias, overload

import numpy as np
import pandas as pd
import ta

Frame: TypeAlias = pd.DataFrame


class Candles:
    """The candle frame plus each multi-output ``ta`` indicator built once per computation.

    ``c["close"]`` reads a column; ``c.adx`` (and the other properties) is shared by the
    features that read several outputs of one indicator, so ADX is not computed three times.
    """

    def __init__(self, frame: Frame) -> None:
        self.frame = frame

    @overload
    def __getitem__(self, key: str) -> pd.Series: ...
    @overload
    def __getitem__(self, key: list[str]) -> Frame: ...
    def __getitem__(self, key: str | list[str]) -> pd.Series | Frame:
        return self.frame[key]

    @cached_property
    def adx(self) -> ta.trend.ADXIndicator:
        return ta.trend.ADXIndicator(self["high"], self["low"], self["close"])

    @cached_property
    def aroon(self) -> ta.trend.AroonIndicator:
        return ta.trend.AroonIndicator(self["high"], self["low"], 25)

    @cached_property
    def macd(self) -> ta.trend.MACD:
        return ta.trend.MACD(self["close"])

    @cached_property
    def bollinger(self) -> ta.volatility.BollingerBands:
        return ta.volatility.BollingerBands(self["close"])


@dataclass(frozen=True)
class FeatureSpec:
    """One feature: its column name, family, definition and how to compute it."""

    name: str
    family: str
    definition: str
    compute: Callable[[Candles], pd.Series]


def _safe_div(a: pd.Series, b: pd.Series) -> pd.Series:
    """a / b with 0 where b is 0 (flat no-trade bars have zero range)."""
    return (a / b.replace(0.0, np.nan)).fillna(0.0).where(a.notna() & b.notna())


def _with_window(f: Callable[[Candles, int], pd.Series], w: int) -> Callable[[Candles], pd.Series]:
    """``f`` with its window bound now (a bare lambda in a loop would see the last ``w``)."""
    return lambda c: f(c, w)


def _log_ret(c: Candles) -> pd.Series:
    return np.log(c["close"]).diff()


def _realised_vol(c: Candles, w: int) -> pd.Series:
    return _log_ret(c).rolling(w).std()


def _parkinson(c: Candles, w: int) -> pd.Series:
    hl = np.log(c["high"] / c["low"]) ** 2
    return np.sqrt(hl.rolling(w).mean() / (4 * np.log(2)))


def _garman_klass(c: Candles, w: int) -> pd.Series:
    hl = 0.5 * np.log(c["high"] / c["low"]) ** 2
    co = (2 * np.log(2) - 1) * np.log(c["close"] / c["open"]) ** 2
    return np.sqrt((hl - co).rolling(w).mean().clip(lower=0))


def _specs() -> list[FeatureSpec]:
    S = FeatureSpec
    tr, mo, vo, vl = ta.trend, ta.momentum, ta.volatility, ta.volume
    out: list[FeatureSpec] = []
    # ---- trend
    for w in (5, 10, 20, 50, 100, 200):
        out.append(S(f"sma_ratio_{w}", "trend", f"close / SMA(close, {w}) - 1",
                     _with_window(lambda c, w: c["close"] / tr.SMAIndicator(c["close"], w).sma_indicator() - 1, w)))
    for w in (12, 26, 50):
        out.append(S(f"ema_ratio_{w}", "trend", f"close / EMA(close, {w}) - 1",
                     _with_window(lambda c, w: c["close"] / tr.EMAIndicator(c["close"], w).ema_indicator() - 1, w)))
    out += [
        S("macd", "trend", "MACD(12, 26) / close", lambda c: c.macd.macd() / c["close"]),
        S("macd_signal", "trend", "MACD signal line (9) / close", lambda c: c.macd.macd_signal() / c["close"]),
        S("macd_diff", "trend", "MACD histogram / close", lambda c: c.macd.macd_diff() / c["close"]),
        S("adx", "trend", "ADX(14), trend strength", lambda c: c.adx.adx()),
        S("adx_pos", "trend", "+DI(14)", lambda c: c.adx.adx_pos()),
        S("adx_neg", "trend", "-DI(14)", lambda c: c.adx.adx_neg()),
        S("aroon_up", "trend", "Aroon up (25)", lambda c: c.aroon.aroon_up()),
        S("aroon_down", "trend", "Aroon down (25)", lambda c: c.aroon.aroon_down()),
        S("aroon_ind", "trend", "Aroon up - down (25)", lambda c: c.aroon.aroon_indicator()),
        S("cci", "trend", "Commodity channel index (20)", lambda c: tr.CCIIndicator(c["high"], c["low"], c["close"]).cci()),
        S("trix", "trend", "TRIX (15): rate of change of a triple EMA", lambda c: tr.TRIXIndicator(c["close"]).trix()),
        S("mass_index", "trend", "Mass index (9, 25)", lambda c: tr.MassIndex(c["high"], c["low"]).mass_index()),
        S("kst", "trend", "Know-sure-thing oscillator", lambda c: tr.KSTIndicator(c["close"]).kst()),
        S("kst_signal", "trend", "KST signal (9)", lambda c: tr.KSTIndicator(c["close"]).kst_sig()),
        S("vortex_pos", "trend", "Vortex +VI (14)", lambda c: tr.VortexIndicator(c["high"], c["low"], c["close"]).vortex_indicator_pos()),
        S("vortex_neg", "trend", "Vortex -VI (14)", lambda c: tr.VortexIndicator(c["high"], c["low"], c["close"]).vortex_indicator_neg()),
        S("stc", "trend", "Schaff trend cycle", lambda c: tr.STCIndicator(c["close"]).stc()),
    ]
    # ---- momentum
    for w in (7, 14, 21):
        out.append(S(f"rsi_{w}", "momentum", f"RSI({w})", _with_window(lambda c, w: mo.RSIIndicator(c["close"], w).rsi(), w)))
    for w in (1, 6, 12, 24):
        out.append(S(f"roc_{w}", "momentum", f"rate of change over {w} bars, %", _with_window(lambda c, w: mo.ROCIndicator(c["close"], w).roc(), w)))
    out += [
        S("stoch_k", "momentum", "stochastic %K (14)", lambda c: mo.StochasticOscillator(c["high"], c["low"], c["close"]).stoch()),
        S("stoch_d", "momentum", "stochastic %D (3-bar mean of %K)", lambda c: mo.StochasticOscillator(c["high"], c["low"], c["close"]).stoch_signal()),
        S("stoch_rsi", "momentum", "stochastic RSI (14)", lambda c: mo.StochRSIIndicator(c["close"]).stochrsi()),
        S("stoch_rsi_k", "momentum", "stochastic RSI %K", lambda c: mo.StochRSIIndicator(c["close"]).stochrsi_k()),
        S("stoch_rsi_d", "momentum", "stochastic RSI %D", lambda c: mo.StochRSIIndicator(c["close"]).stochrsi_d()),
        S("williams_r", "momentum", "Williams %R (14)", lambda c: mo.WilliamsRIndicator(c["high"], c["low"], c["close"]).williams_r()),
        S("tsi", "momentum", "true strength index (25, 13)", lambda c: mo.TSIIndicator(c["close"]).tsi()),
        S("ultimate_osc", "momentum", "ultimate oscillator (7, 14, 28)", lambda c: mo.UltimateOscillator(c["high"], c["low"], c["close"]).ultimate_oscillator()),
        S("awesome_osc", "momentum", "awesome oscillator (5, 34) / close", lambda c: mo.AwesomeOscillatorIndicator(c["high"], c["low"]).awesome_oscillator() / c["close"]),
        S("kama_ratio", "momentum", "close / KAMA(10) - 1", lambda c: c["close"] / mo.KAMAIndicator(c["close"]).kama() - 1),
        S("ppo", "momentum", "percentage price oscillator (12, 26)", lambda c: mo.PercentagePriceOscillator(c["close"]).ppo()),
        S("ppo_signal", "momentum", "PPO signal (9)", lambda c: mo.PercentagePriceOscillator(c["close"]).ppo_signal()),
        S("ppo_hist", "momentum", "PPO histogram", lambda c: mo.PercentagePriceOscillator(c["close"]).ppo_hist()),
        S("pvo", "momentum", "percentage volume oscillator (12, 26)", lambda c: mo.PercentageVolumeOscillator(c["volume"]).pvo()),
    ]
    # ---- volatility
    out += [
        S("bb_pband", "volatility", "position in Bollinger bands (20, 2)", lambda c: c.bollinger.bollinger_pband()),
        S("bb_wband", "volatility", "Bollinger band width (20, 2)", lambda c: c.bollinger.bollinger_wband()),
        S("bb_high_ind", "volatility", "1 if close above the upper band", lambda c: c.bollinger.bollinger_hband_indicator()),
        S("bb_low_ind", "volatility", "1 if close below the lower band", lambda c: c.bollinger.bollinger_lband_indicator()),
        S("atr_ratio", "volatility", "ATR(14) / close", lambda c: vo.AverageTrueRange(c["high"], c["low"], c["close"]).average_true_range() / c["close"]),
        S("kc_pband", "volatility", "position in Keltner channel (20)", lambda c: vo.KeltnerChannel(c["high"], c["low"], c["close"]).keltner_channel_pband()),
        S("kc_wband", "volatility", "Keltner channel width (20)", lambda c: vo.KeltnerChannel(c["high"], c["low"], c["close"]).keltner_channel_wband()),
        S("dc_pband", "volatility", "position in Donchian channel (20)", lambda c: vo.DonchianChannel(c["high"], c["low"], c["close"]).donchian_channel_pband()),
        S("dc_wband", "volatility", "Donchian channel width (20)", lambda c: vo.DonchianChannel(c["high"], c["low"], c["close"]).donchian_channel_wband()),
        S("ulcer_index", "volatility", "ulcer index (14)", lambda c: vo.UlcerIndex(c["close"]).ulcer_index()),
        S("parkinson_vol_24", "volatility", "Parkinson high-low volatility over 24 bars", lambda c: _parkinson(c, 24)),
        S("garman_klass_vol_24", "volatility", "Garman-Klass OHLC volatility over 24 bars", lambda c: _garman_klass(c, 24)),
    ]
    for w in (6, 12, 24, 72, 168):
        out.append(S(f"realised_vol_{w}", "volatility", f"std of log returns over {w} bars",
                     _with_window(_realised_vol, w)))
    # ---- volume
    out += [
        S("log_volume", "volume", "log(1 + volume)", lambda c: np.log1p(c["volume"])),
        S("volume_ratio_24", "volume", "volume / SMA(volume, 24)", lambda c: _safe_div(c["volume"], c["volume"].rolling(24).mean())),
        S("volume_z_168", "volume", "z-score of volume over 168 bars",
          lambda c: _safe_div(c["volume"] - c["volume"].rolling(168).mean(), c["volume"].rolling(168).std())),
        S("mfi", "volume", "money flow index (14)", lambda c: vl.MFIIndicator(c["high"], c["low"], c["close"], c["volume"]).money_flow_index()),
        S("cmf", "volume", "Chaikin money flow (20)", lambda c: vl.ChaikinMoneyFlowIndicator(c["high"], c["low"], c["close"], c["volume"]).chaikin_money_flow()),
        S("force_index", "volume", "force index (13) / (close x mean volume 168)",
          lambda c: vl.ForceIndexIndicator(c["close"], c["volume"]).force_index() / (c["close"] * c["volume"].rolling(168).mean())),
        S("eom", "volume", "z-score over 168 bars of the ease of movement: 14-bar mean of (d high + d low) / 2 "
          "x (high - low) / volume", lambda c: _ease_of_movement(c)),
        S("obv_z_168", "volume", "z-score of on-balance volume over 168 bars", lambda c: _obv_z(c)),
        S("vwap_ratio", "volume", "close / VWAP(14) - 1",
          lambda c: c["close"] / vl.VolumeWeightedAveragePrice(c["high"], c["low"], c["close"], c["volume"]).volume_weighted_average_price() - 1),
    ]
    # ---- candle shape
    rng = lambda c: c["high"] - c["low"]  # noqa: E731
    out += [
        S("body_to_range", "candle", "(close - open) / (high - low); 0 for a flat bar", lambda c: _safe_div(c["close"] - c["open"], rng(c))),
        S("upper_shadow", "candle", "(high - max(open, close)) / (high - low)", lambda c: _safe_div(c["high"] - c[["open", "close"]].max(axis=1), rng(c))),
        S("lower_shadow", "candle", "(min(open, close) - low) / (high - low)", lambda c: _safe_div(c[["open", "close"]].min(axis=1) - c["low"], rng(c))),
        S("range_ratio", "candle", "(high - low) / close", lambda c: rng(c) / c["close"]),
        S("log_hl", "candle", "log(high / low)", lambda c: np.log(c["high"] / c["low"])),
        S("log_co", "candle", "log(close / open)", lambda c: np.log(c["close"] / c["open"])),
    ]
    return out


def _ease_of_movement(c: Candles) -> pd.Series:
    """Written out because ``ta``'s version divides by zero volume on no-trade bars (inf), and
    z-scored like OBV: the raw value is in price² per volume unit, so it drifts with BTC's price and
    trading volume out of its training range (divided by close² only, as before, it reached 27.7
    training standard deviations on the real hourly file's validation period; z-scored, 1.02)."""
    move = (c["high"].diff() + c["low"].diff()) / 2 * (c["high"] - c["low"])
    eom = _safe_div(move, c["volume"]).rolling(14).mean()
    return _safe_div(eom - eom.rolling(168).mean(), eom.rolling(168).std())


def _obv_z(c: Candles) -> pd.Series:
    obv = ta.volume.OnBalanceVolumeIndicator(c["close"], c["volume"]).on_balance_volume()
    return _safe_div(obv - obv.rolling(168).mean(), obv.rolling(168).std())


ENHANCED_FEATURES: list[FeatureSpec] = _specs()
ENHANCED_WARMUP = 200


def enhanced_features(candles: Frame, families: Sequence[str] | None = None) -> Frame:
    """Compute the features of :data:`ENHANCED_FEATURES` (warm-up rows still included), all or those of
    the given families."""
    shared = Candles(candles)
    cols = {spec.name: spec.compute(shared) for spec in ENHANCED_FEATURES if families is None or spec.family in families}
    frame = pd.DataFrame(cols, index=candles.index, dtype=float).replace([np.inf, -np.inf], np.nan)
    # A few oscillators are undefined on long flat no-trade stretches (zero range over their
    # window, e.g. the ultimate oscillator): they keep their last value, which is causal.
    return frame.ffill()


def feature_table() -> pd.DataFrame:
    """The definition table: name, family, definition."""
    return pd.DataFrame([(s.name, s.family, s.definition) for s in ENHANCED_FEATURES],
                        columns=["name", "family", "definition"])

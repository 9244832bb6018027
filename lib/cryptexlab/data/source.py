"""One entry point from a profile's ``data`` section to validated candles and features.

Example:
    >>> from cryptexlab.params import DataConfig
    >>> data = load_data(DataConfig())  # no path: the embedded synthetic default
    >>> data.report.synthetic
    True
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from cryptexlab.data.candles import CandleData, load_candles, resample_candles
from cryptexlab.data.features import (
    ExternalSource,
    FeatureFrame,
    FeatureOptions,
    build_features,
    regime_features,
)
from cryptexlab.data.splits import split_periods
from cryptexlab.data.synthetic import EXOG_LAG_HOURS, has_exog, synthetic_candles, synthetic_exog
from cryptexlab.params import DataConfig
from cryptexlab.paths import resolve


def load_data(config: DataConfig) -> CandleData:
    """Load the CSV named by ``config.path``, or generate the synthetic default when it is null.

    ``config.columns`` and ``config.skip_rows`` read vendor layouts (see :func:`load_candles`).
    Resampling (``config.resample``) happens after validation and repair.
    """
    if config.path is None:
        s = config.synthetic
        data = synthetic_candles(kind=s.kind, hours=s.hours, seed=s.seed, phi=s.phi, exog_r2=s.exog_r2)
    else:
        data = load_candles(resolve(config.path), freq=config.freq, repair=config.repair,
                            columns=config.columns, skip_rows=config.skip_rows)
    if config.resample and config.resample != data.report.freq:
        frame = resample_candles(data.frame, config.resample)
        no_trade = data.no_trade.resample(frame.index.freq or config.resample).all().reindex(frame.index)
        report = dataclasses.replace(
            data.report,
            freq=config.resample,
            rows=len(frame),
            start=frame.index[0].isoformat(),
            end=frame.index[-1].isoformat(),
        )
        data = CandleData(frame=frame, no_trade=no_trade.astype(bool), report=report)
    return data


def describe_source(config: DataConfig) -> str:
    """A one-line label of the data source for reports; says 'synthetic' when it is."""
    if config.path is None:
        s = config.synthetic
        exog = f", exogenous series as-of joined with a {EXOG_LAG_HOURS:g} h lag" if has_exog(s.kind) else ""
        return f"synthetic ({s.kind}, {s.hours} hours, seed {s.seed}{exog}) - not real market data"
    parts = [f"freq {config.freq}"] + (["repaired"] if config.repair else [])
    if config.columns:
        parts.append("columns " + ", ".join(f"{k}={v}" for k, v in config.columns.items()))
    if config.skip_rows:
        parts.append(f"{config.skip_rows} banner line(s) skipped")
    return f"{resolve(config.path)} ({', '.join(parts)})"


def feature_options(config: DataConfig, candles: CandleData) -> FeatureOptions:
    """The options a feature set needs, taken from the data section.

    The regime model is fit up to the end of the training period computed on the candles
    themselves, which ends no later than the training period of the windows (those are cut
    after the warm-up rows are dropped, so their training block ends later).
    """
    train = split_periods(candles.frame.index, config.split)[0]
    sources = tuple(
        ExternalSource(e.path, e.lag_hours, tuple(e.columns) if e.columns else None, e.prefix)
        for e in config.external
    )
    s = config.synthetic
    if config.path is None and has_exog(s.kind):  # the synthetic exogenous series, through the same join
        sources += (ExternalSource("exog", EXOG_LAG_HOURS, frame=synthetic_exog(s.kind, s.hours, s.seed)),)
    families = None if config.feature_families is None else tuple(config.feature_families)
    return FeatureOptions(external=sources, timeframes=tuple(config.timeframes),
                          n_regimes=config.n_regimes, train_end=train.last, families=families)


def load_features(config: DataConfig, candles: CandleData | None = None) -> tuple[CandleData, FeatureFrame]:
    """Candles (loaded if not given) and the configured feature set."""
    candles = candles if candles is not None else load_data(config)
    features = build_features(candles.frame, config.feature_set, feature_options(config, candles))
    return candles, features


def regime_labels(config: DataConfig, candles: CandleData) -> pd.Series:
    """Regime labels of the candles (HMM fit on the training period), whatever the feature set."""
    return regime_features(candles.frame, feature_options(config, candles))[1]

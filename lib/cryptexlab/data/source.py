"""One entry point from a profile's ``data`` section to validated candles.

Example:
    >>> from cryptexlab.params import DataConfig
    >>> data = load_data(DataConfig())  # no path: the embedded synthetic default
    >>> data.report.synthetic
    True
"""

from __future__ import annotations

import dataclasses

from cryptexlab.data.candles import CandleData, load_candles, resample_candles
from cryptexlab.data.synthetic import synthetic_candles
from cryptexlab.params import DataConfig
from cryptexlab.paths import resolve


def load_data(config: DataConfig) -> CandleData:
    """Load the CSV named by ``config.path``, or generate the synthetic default when it is null.

    Resampling (``config.resample``) happens after validation and repair.
    """
    if config.path is None:
        s = config.synthetic
        data = synthetic_candles(kind=s.kind, hours=s.hours, seed=s.seed)
    else:
        data = load_candles(resolve(config.path), freq=config.freq, repair=config.repair)
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
        return f"synthetic ({s.kind}, {s.hours} hours, seed {s.seed}) - not real market data"
    return f"{resolve(config.path)} (freq {config.freq}{', repaired' if config.repair else ''})"

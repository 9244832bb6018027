"""Candles: loading, validation, repair, resampling, the synthetic default and periods."""

from cryptexlab.data.candles import CandleData, CandleReport, load_candles, resample_candles
from cryptexlab.data.source import describe_source, load_data
from cryptexlab.data.splits import Period, split_periods
from cryptexlab.data.synthetic import synthetic_candles, synthetic_frame, write_cryptex_csv

__all__ = [
    "CandleData",
    "CandleReport",
    "Period",
    "describe_source",
    "load_candles",
    "load_data",
    "resample_candles",
    "split_periods",
    "synthetic_candles",
    "synthetic_frame",
    "write_cryptex_csv",
]

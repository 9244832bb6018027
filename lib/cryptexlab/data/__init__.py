"""Market data: candles (loading, validation, repair, resampling, download), the synthetic default and its
known-answer variants, the feature sets and external series, regimes, the periods and the windows.

The names re-exported here are the entry points; ``prepare.load_windows`` is what every run calls.
"""

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

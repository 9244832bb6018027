"""From a profile's ``data`` section to the windows a run trains on, in one call.

Every run, search trial, notebook and benchmark that needs windows builds them here: candles
(file or synthetic), the configured feature set (:func:`cryptexlab.data.source.load_features`),
then the train/validation/test windows with their train-only scaler
(:func:`cryptexlab.data.windows.make_windows`).

Example:
    >>> from cryptexlab.params import DataConfig
    >>> windows = load_windows(DataConfig.model_validate({"synthetic": {"hours": 1000}}))
    >>> windows.train.seq_len, windows.train.pred_len
    (96, 24)
"""

from __future__ import annotations

from cryptexlab.data.source import load_features
from cryptexlab.data.windows import Windows, make_windows
from cryptexlab.params import DataConfig


def load_windows(config: DataConfig) -> Windows:
    """The windows of the data section: load the candles, build the feature set, cut the windows.

    Raises:
        DataError: the candles or the features cannot be built, a configured input column is
            missing, the gap is below ``pred_len``, or a period is too short for one window.
    """
    _, features = load_features(config)
    return make_windows(features.frame, config)

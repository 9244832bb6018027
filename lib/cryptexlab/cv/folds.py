"""Cross-validation folds of the development period: each fold's windows, scaler and regimes.

The development period is every row before the test period (training, the gap, validation), so
a cross-validated search never touches the test period that the verdict keeps for itself.
Window ``i`` of the development period starts at row ``i``; a splitter of :mod:`cryptexlab.cv`
turns those positions into (train, test) folds. For each fold:

* the scaler (scikit-learn's ``StandardScaler``) is fit on the rows its training windows cover,
  never on the test block, the purge or the embargo (:func:`fold_windows`);
* the market-regime HMM (:mod:`cryptexlab.data.regimes`) is fit on the same training rows, and
  each test window is labelled by the filtered regime of its last input bar, which is known when
  the forecast is made (:func:`fold_regimes`).

Example:
    >>> from cryptexlab.data.source import load_features
    >>> from cryptexlab.params import CVConfig, DataConfig
    >>> data = DataConfig.model_validate({"synthetic": {"hours": 2000}, "feature_set": "CRYPTEX_BASIC"})
    >>> dev = development(load_features(data)[1].frame, data)
    >>> splitter = make_splitter(CVConfig(kind="purged", n_splits=3), dev)
    >>> train, test = next(splitter.split(range(dev.n_windows)))
    >>> w = fold_windows(dev, train, test)
    >>> w.train.n_windows == len(train), w.val.n_windows == len(test)
    (True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

from cryptexlab.cv.splitters import (
    BlockedSplit,
    CombinatorialPurgedSplit,
    ExpandingWindowSplit,
    PurgedKFold,
    SlidingWindowSplit,
)
from cryptexlab.data.regimes import filter_regimes, fit_regimes, regime_inputs
from cryptexlab.data.splits import Period, default_gap, split_periods
from cryptexlab.data.windows import WindowDataset, Windows, input_columns
from cryptexlab.errors import DataError
from cryptexlab.params import CVConfig, DataConfig

Splitter = ExpandingWindowSplit | BlockedSplit | PurgedKFold | CombinatorialPurgedSplit


@dataclass(frozen=True)
class Development:
    """The feature rows before the test period, and what a window of them is."""

    frame: pd.DataFrame
    raw: np.ndarray  # the window columns as float64, rows x columns
    columns: list[str]
    target: str
    seq_len: int
    pred_len: int
    mode: str
    bar: str

    @property
    def span(self) -> int:
        """Rows one window covers."""
        return self.seq_len + self.pred_len

    @property
    def n_windows(self) -> int:
        """Windows that lie wholly in the development period (window i starts at row i)."""
        return len(self.frame) - self.span + 1


def development(frame: pd.DataFrame, config: DataConfig) -> Development:
    """The development period of a feature frame: the rows before the test period of ``config.split``.

    Raises:
        DataError: a configured column is missing, or the period is shorter than one window.
    """
    wc = config.windows
    gap = default_gap(config)
    test = split_periods(frame.index, config.split, gap=gap)[2]
    dev = frame.iloc[: test.start - gap]
    columns, target = input_columns(dev, config)
    if len(dev) < wc.seq_len + wc.pred_len:
        raise DataError(f"the development period holds {len(dev)} rows, fewer than one window of "
                        f"{wc.seq_len} + {wc.pred_len}; use more data or shorter windows")
    return Development(dev, dev[columns].to_numpy(dtype=np.float64), columns, target, wc.seq_len, wc.pred_len,
                       wc.mode, config.resample or config.freq)


def make_splitter(cv: CVConfig, dev: Development) -> Splitter:
    """The splitter of ``cv.kind`` for the development period's windows (lengths in its bars)."""
    s, h, bar = dev.seq_len, dev.pred_len, dev.bar
    if cv.kind == "purged":
        return PurgedKFold(cv.n_splits, seq_len=s, pred_len=h, purge=cv.purge, embargo=cv.embargo, bar=bar)
    if cv.kind == "cpcv":
        return CombinatorialPurgedSplit(cv.n_splits, cv.n_test_groups, seq_len=s, pred_len=h, purge=cv.purge,
                                        embargo=cv.embargo, bar=bar)
    if cv.kind == "blocked":
        return BlockedSplit(cv.n_splits, seq_len=s, pred_len=h, test_fraction=cv.test_fraction, margin=cv.purge, bar=bar)
    if cv.kind == "sliding":
        size = cv.train_size or dev.n_windows // (cv.n_splits + 1)
        return SlidingWindowSplit(cv.n_splits, train_size=size, seq_len=s, pred_len=h, gap=cv.purge, bar=bar)
    return ExpandingWindowSplit(cv.n_splits, seq_len=s, pred_len=h, gap=cv.purge, bar=bar)


def training_rows(dev: Development, train_starts: np.ndarray) -> np.ndarray:
    """A mask of the rows the training windows cover (inputs and labels)."""
    cover = np.zeros(len(dev.frame) + 1, dtype=np.int64)
    np.add.at(cover, train_starts, 1)
    np.add.at(cover, train_starts + dev.span, -1)
    return np.cumsum(cover)[:-1] > 0


def fold_windows(dev: Development, train_starts: np.ndarray, test_starts: np.ndarray) -> Windows:
    """The windows of one fold, scaled by a scaler fit on the fold's training rows only.

    The fold's test block takes the place of the validation period (early stopping and the score
    read it); ``test`` is the same block, since a fold has no separate test period.

    Raises:
        DataError: a fold without training or test windows.
    """
    if len(train_starts) == 0 or len(test_starts) == 0:
        raise DataError(f"a fold needs training and test windows, got {len(train_starts)} and {len(test_starts)}; "
                        "use fewer splits or more data")
    scaler = StandardScaler().fit(dev.raw[training_rows(dev, train_starts)])
    values = scaler.transform(dev.raw).astype(np.float32)
    k = dev.columns.index(dev.target)
    index = dev.frame.index
    periods = [_period(name, starts, dev.span, index) for name, starts in
               (("train", train_starts), ("val", test_starts), ("test", test_starts))]
    train, val = (WindowDataset(values, p, dev.seq_len, dev.pred_len, k, dev.mode, starts=s)
                  for p, s in ((periods[0], train_starts), (periods[1], test_starts)))
    return Windows(train, val, val, scaler=scaler, columns=dev.columns, target=dev.target, index=index,
                   periods=periods)


def fold_regimes(dev: Development, train_starts: np.ndarray, n_regimes: int, seed: int = 0) -> pd.Series:
    """Filtered regime labels (0 calmest) at every development row, from an HMM fit on the fold's
    training rows only; NaN in the HMM's warm-up.

    Raises:
        DataError: the frame has no ``close`` column, or too few training rows for the regimes.
    """
    if "close" not in dev.frame.columns:
        raise DataError(f"regimes need a close column; the features hold {list(dev.frame.columns)[:8]}...")
    inputs = regime_inputs(dev.frame)
    model = fit_regimes(inputs[training_rows(dev, train_starts)], n_regimes=n_regimes, seed=seed)
    return filter_regimes(model, inputs)[0]


def _period(name: str, starts: np.ndarray, span: int, index: pd.DatetimeIndex) -> Period:
    a, b = int(starts[0]), int(starts[-1]) + span
    return Period(name, a, b, index[a], index[b - 1])

"""Training windows without look-ahead: a lazy torch Dataset per period.

A window starting at row s has inputs ``rows[s : s + seq_len]`` and targets
``rows[s + seq_len : s + seq_len + pred_len]``. Each period (train, val, test) is a contiguous
block of rows, separated from the next by a gap of at least ``pred_len`` rows
(:func:`cryptexlab.data.splits.split_periods`; the gap is :func:`cryptexlab.data.splits.default_gap`);
every window lies wholly inside its own block, so no training target reaches the validation period.
The scaler (scikit-learn's ``StandardScaler``) is fit on the training block only and applied to all blocks.

Windows are never materialised: the Dataset keeps one scaled float32 array (rows x features)
and slices it on demand, so memory grows with rows x features, not with the window count.

Modes:

* ``multivariate``: x is (seq_len, features), y is (pred_len,) of the target column.
* ``channel_independent``: every (window, feature) pair is a sample; x is (seq_len, 1) of one
  feature, y is (pred_len,) of the same feature (Time-LLM's channel independence, done by the data).
  Sample i is window ``i // channels`` of feature ``i % channels``. Training uses every feature's
  samples; scores in the target's units use only the target's own samples
  (:meth:`WindowDataset.target_samples`), the only ones that :meth:`Windows.inverse_target` un-scales
  correctly and the only ones a random walk on the target is compared with.

Example:
    >>> from cryptexlab.data.synthetic import synthetic_candles
    >>> from cryptexlab.data.features import build_features
    >>> from cryptexlab.params import DataConfig
    >>> feats = build_features(synthetic_candles("default", 2000, 1).frame, "CRYPTEX_BASIC")
    >>> w = make_windows(feats.frame, DataConfig())
    >>> x, y = w.train[0]
    >>> tuple(x.shape), tuple(y.shape)
    ((96, 6), (24,))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd
import torch
from sklearn.preprocessing import StandardScaler
from torch.utils.data import DataLoader, Dataset, Subset

from cryptexlab.data.splits import Period, default_gap, split_periods
from cryptexlab.errors import DataError
from cryptexlab.params import DataConfig


class WindowDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Windows of one period, sliced lazily from a shared scaled array.

    By default every window that lies wholly inside ``period``; ``starts`` (rows where the windows'
    inputs start, in time order) picks any subset instead, e.g. a cross-validation fold's windows
    on both sides of a purged test block (:mod:`cryptexlab.cv.folds`).
    """

    def __init__(self, values: np.ndarray, period: Period, seq_len: int, pred_len: int,
                 target: int, mode: str, starts: np.ndarray | None = None) -> None:
        self.values = values
        self.period = period
        self.seq_len, self.pred_len = seq_len, pred_len
        self.target, self.mode = target, mode
        last = period.stop - seq_len - pred_len  # the last start whose labels stay inside the period
        self.starts = np.arange(period.start, last + 1) if starts is None else np.asarray(starts, dtype=np.int64)
        self.n_windows = len(self.starts)
        self.channels = values.shape[1] if mode == "channel_independent" else 1

    def __len__(self) -> int:
        return self.n_windows * self.channels

    def window_start(self, i: int) -> int:
        """Row (in the feature frame) where sample i's input starts."""
        return int(self.starts[i // self.channels])

    def target_rows(self, i: int) -> range:
        """Rows of sample i's targets."""
        s = self.window_start(i) + self.seq_len
        return range(s, s + self.pred_len)

    def target_samples(self) -> Samples:
        """One sample per window, in time order, whose y is the target: the dataset itself in
        multivariate mode, the target feature's samples in channel_independent mode."""
        if self.mode != "channel_independent":
            return self
        return Subset(self, [w * self.channels + self.target for w in range(self.n_windows)])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= i < len(self):
            raise IndexError(f"window {i} out of range for {len(self)} samples")
        w, c = divmod(i, self.channels)
        s = int(self.starts[w])
        e = s + self.seq_len
        if self.mode == "channel_independent":
            x = self.values[s:e, c:c + 1]
            y = self.values[e:e + self.pred_len, c]
        else:
            x = self.values[s:e]
            y = self.values[e:e + self.pred_len, self.target]
        return torch.from_numpy(x), torch.from_numpy(y)


#: What the loaders and the runner read: a period's windows or a subset of its samples (both sized).
Samples: TypeAlias = WindowDataset | Subset[tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class Windows:
    """The three window datasets, the scaler fit on train, and what the columns are."""

    train: WindowDataset
    val: WindowDataset
    test: WindowDataset
    scaler: StandardScaler
    columns: list[str]
    target: str
    index: pd.DatetimeIndex
    periods: list[Period]

    @property
    def target_position(self) -> int:
        """Column position of the target."""
        return self.columns.index(self.target)

    def inverse_target(self, y: np.ndarray | torch.Tensor) -> np.ndarray:
        """Undo the scaling of target values (in channel_independent mode: of the target's samples only)."""
        k = self.target_position
        arr = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
        return arr * self.scaler.scale_[k] + self.scaler.mean_[k]


def make_windows(frame: pd.DataFrame, config: DataConfig) -> Windows:
    """Split a feature frame by time, fit the scaler on train, and wrap each period's windows.

    Raises:
        DataError: unknown target or feature column, a gap below pred_len, or a window longer
            than a period (naming the sizes).
    """
    wc = config.windows
    columns, target = input_columns(frame, config)
    gap = default_gap(config)
    if gap < wc.pred_len:
        raise DataError(f"split.gap={gap} is below pred_len={wc.pred_len}: a target would cross into the next "
                        "period; use a gap of at least pred_len (or null)")
    periods = split_periods(frame.index, config.split, gap=gap)
    need = wc.seq_len + wc.pred_len
    for p in periods:
        if p.rows < need:
            raise DataError(f"a window of seq_len + pred_len = {wc.seq_len} + {wc.pred_len} = {need} rows is longer "
                            f"than the {p.name} period ({p.rows} rows); use shorter windows or more data")
    raw = frame[columns].to_numpy(dtype=np.float64)
    train = periods[0]
    scaler = StandardScaler().fit(raw[train.start:train.stop])
    values = scaler.transform(raw).astype(np.float32)
    k = columns.index(target)
    train_set, val_set, test_set = (WindowDataset(values, p, wc.seq_len, wc.pred_len, k, wc.mode) for p in periods)
    return Windows(train_set, val_set, test_set, scaler=scaler, columns=columns, target=target, index=frame.index,
                   periods=periods)


def refit_windows(windows: Windows) -> Windows:
    """The same windows with training extended over the validation period: every window that lies
    wholly in the rows from the training period's start to the validation period's end (the gap
    between them included; the gap before the test period is not).

    The scaler stays the one fit on the training period (an affine map fixed before the
    validation rows are seen; the models standardise each window themselves). The validation
    windows are kept, now inside the training data, so they score nothing (the verdict's
    retraining runs its epochs without choosing among them); the test windows are unchanged.
    """
    train, val = windows.periods[0], windows.periods[1]
    period = Period("train+val", train.start, val.stop, train.first, val.last)
    t = windows.train
    refit = WindowDataset(t.values, period, t.seq_len, t.pred_len, t.target, t.mode)
    return Windows(refit, windows.val, windows.test, scaler=windows.scaler, columns=windows.columns,
                   target=windows.target, index=windows.index, periods=[period, val, windows.periods[2]])


def input_columns(frame: pd.DataFrame, config: DataConfig) -> tuple[list[str], str]:
    """(the columns a window holds, the target column): the configured features (all by default),
    with the target appended when they leave it out.

    Raises:
        DataError: a configured feature or the target is not a column of the frame.
    """
    wc = config.windows
    target = "log_return" if wc.target_kind == "log_return" and wc.target == "close" else wc.target
    columns = list(wc.features) if wc.features else list(frame.columns)
    missing = [c for c in [*columns, target] if c not in frame.columns]
    if missing:
        raise DataError(f"no column(s) {missing} in the {len(frame.columns)} features; available: {list(frame.columns)}")
    if target not in columns:
        columns.append(target)
    return columns, target


def make_loader(dataset: Samples, batch_size: int, *, train: bool, seed: int = 0,
                drop_last: bool = False) -> DataLoader:
    """A DataLoader: shuffled with a seeded generator for training; in order, every window, otherwise."""
    if not train and drop_last:
        raise DataError("drop_last is only allowed for training: evaluation must see every window")
    generator = torch.Generator().manual_seed(seed) if train else None
    return DataLoader(dataset, batch_size=batch_size, shuffle=train, drop_last=drop_last, generator=generator)

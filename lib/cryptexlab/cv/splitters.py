"""Time-series cross-validation splitters over windows, with scikit-learn's ``split`` protocol.

The samples are the windows of one period: window ``i`` reads input rows ``i .. i + seq_len - 1``
and label rows ``i + seq_len .. i + seq_len + pred_len - 1``, so it spans ``seq_len + pred_len``
rows. Two windows overlap in rows whenever their starts are closer than that span, which is why a
plain K-fold leaks: a training window just before or after a test block shares rows with it.

* :class:`ExpandingWindowSplit`: ``TimeSeriesSplit`` semantics (training grows, test follows it),
  with a ``gap`` of windows between them; the default gap is the span minus one, the least that
  keeps every training window's rows out of the test block.
* :class:`SlidingWindowSplit`: the same with a fixed training length.
* :class:`BlockedSplit`: non-overlapping blocks, each its own fold: training at its start, a
  margin, then its test part (blocked time-series CV); the margin defaults to the span minus one.
* :class:`PurgedKFold`: contiguous test blocks; training windows whose rows intersect a test
  block's rows are purged, and an embargo of windows after each test block is dropped too
  (Lopez de Prado, Advances in Financial Machine Learning, ch. 7). The purge is derived from
  seq_len and pred_len; the embargo defaults to ``pred_len`` windows.
* :class:`CombinatorialPurgedSplit`: CPCV (ch. 12): N contiguous groups, every choice of k of them
  as the test set, purged and embargoed like :class:`PurgedKFold`; :meth:`~CombinatorialPurgedSplit.paths`
  reconstructs the C(N-1, k-1) backtest paths, each covering every group once. Its groups and folds
  are those of skfolio's ``CombinatorialPurgedCV`` (``purged_size`` = purge, ``embargo_size`` =
  embargo; groups of n // N windows, the last one taking the remainder), which the tests check.

Gaps, margins, purges and embargoes are counted in windows (one window per bar), or given as a
duration such as ``"24h"`` together with the bar length (``bar="1h"``). A gap, margin or purge below
``seq_len + pred_len - 1`` is refused: a training window within it would share rows with the test
block, which is exactly the leak these splitters exist to prevent.

Example:
    >>> cv = PurgedKFold(n_splits=3, seq_len=2, pred_len=1, embargo=1)
    >>> for train, test in cv.split(range(12)):
    ...     print(train.tolist(), test.tolist())
    [7, 8, 9, 10, 11] [0, 1, 2, 3]
    [0, 1, 11] [4, 5, 6, 7]
    [0, 1, 2, 3, 4, 5] [8, 9, 10, 11]
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator, Sized
from typing import Any

import numpy as np
import pandas as pd

from cryptexlab.errors import ParamsError

Split = tuple[np.ndarray, np.ndarray]
#: A gap, margin, purge or embargo: windows (bars), or a duration string ("24h", "2d") with a bar length.
Length = int | str | None


def to_bars(value: int | str, bar: str | pd.Timedelta | None, name: str) -> int:
    """A length in bars: an int as it is, a duration string divided by the bar length.

    Example:
        >>> to_bars("24h", "1h", "purge"), to_bars("1d", "4h", "embargo"), to_bars(7, None, "gap")
        (24, 6, 7)

    Raises:
        ParamsError: a duration without a bar length, one that is not a whole number of bars,
            or a string that is not a duration.
    """
    if not isinstance(value, str):
        return int(value)
    if bar is None:
        raise ParamsError(f"{name}={value!r} is a duration, but no bar length was given; pass bar='1h' (the data's "
                          f"step) or give {name} in bars")
    try:
        length, step = (pd.Timedelta(re.sub(r"(?<=\d)d$", "D", str(v))) for v in (value, bar))  # pandas 3: 'D'
    except ValueError:
        raise ParamsError(f"{name}={value!r} is neither a number of bars nor a duration such as '24h' or '2d'") from None
    bars, rest = divmod(length, step)
    if rest != pd.Timedelta(0) or bars < 0:
        raise ParamsError(f"{name}={value!r} is not a whole number of {bar} bars; use a multiple of {bar}")
    return int(bars)


class _WindowSplitter:
    """Shared parts: the window span, argument checks, the repr."""

    def __init__(self, n_splits: int, seq_len: int, pred_len: int, bar: str | None = None) -> None:
        self.n_splits, self.seq_len, self.pred_len, self.bar = n_splits, seq_len, pred_len, bar

    @property
    def span(self) -> int:
        """Rows one window covers (input and labels)."""
        return self.seq_len + self.pred_len

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:  # noqa: N803 (sklearn)
        """Number of folds."""
        return self.n_splits

    def _check(self) -> None:
        if self.n_splits < 2:
            raise ParamsError(f"n_splits must be at least 2, got n_splits={self.n_splits}")
        if self.seq_len < 1 or self.pred_len < 1:
            raise ParamsError(f"seq_len and pred_len must be at least 1, got seq_len={self.seq_len}, "
                              f"pred_len={self.pred_len}")

    def _separation(self, value: Length, name: str) -> int:
        """A gap, margin or purge in windows: ``None`` = span - 1; anything smaller is refused (it leaks)."""
        least = self.span - 1
        if value is None:
            return least
        bars = to_bars(value, self.bar, name)
        if bars < least:
            raise ParamsError(
                f"{name}={value!r} ({bars} windows) is below seq_len + pred_len - 1 = {self.seq_len} + {self.pred_len} "
                f"- 1 = {least}: a training window within it would share rows with the test block; use {name} >= "
                f"{least} or null (derived from seq_len and pred_len)")
        return bars

    def left_out(self) -> tuple[int, int]:
        """(windows left out beside each test block, windows of embargo after it), as :meth:`split` uses them."""
        raise NotImplementedError

    def _embargo(self, value: Length) -> int:
        bars = self.pred_len if value is None else to_bars(value, self.bar, "embargo")
        if bars < 0:
            raise ParamsError(f"embargo must be at least 0 windows, got embargo={value!r}")
        return bars

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class ExpandingWindowSplit(_WindowSplitter):
    """Expanding training windows, each followed (after ``gap`` windows) by a test block.

    Args:
        n_splits: Number of folds (>= 2).
        seq_len: Input length of a window.
        pred_len: Label length of a window.
        test_size: Windows per test block; ``None`` = n_windows // (n_splits + 1).
        gap: Windows (or a duration) left out between training and test; ``None`` = seq_len + pred_len - 1,
            the least allowed.
        bar: Bar length (``"1h"``), needed when ``gap`` is a duration.
    """

    def __init__(self, n_splits: int = 5, *, seq_len: int, pred_len: int, test_size: int | None = None,
                 gap: Length = None, bar: str | None = None) -> None:
        super().__init__(n_splits, seq_len, pred_len, bar)
        self.test_size, self.gap = test_size, gap

    def _train_start(self, test_start: int, gap: int) -> int:
        return 0

    def left_out(self) -> tuple[int, int]:
        """(the gap, no embargo)."""
        return self._separation(self.gap, "gap"), 0

    def split(self, X: Sized | Any, y: Any = None, groups: Any = None) -> Iterator[Split]:  # noqa: N803
        """Yield (train, test) window positions, oldest fold first."""
        self._check()
        n = len(X)
        gap = self.left_out()[0]
        test_size = n // (self.n_splits + 1) if self.test_size is None else self.test_size
        first = n - self.n_splits * test_size
        if test_size < 1 or first - gap < 1:
            raise ParamsError(
                f"too many splits={self.n_splits} for {n} windows with test_size={test_size} and gap={gap}: "
                "the first fold would have no training window; use fewer splits, a smaller test_size or more data")
        for k in range(self.n_splits):
            start = first + k * test_size
            train_stop = start - gap
            yield np.arange(self._train_start(start, gap), train_stop), np.arange(start, start + test_size)


class SlidingWindowSplit(ExpandingWindowSplit):
    """Like :class:`ExpandingWindowSplit` with at most ``train_size`` training windows (the newest).

    Args:
        n_splits: Number of folds (>= 2).
        train_size: Training windows per fold (>= 1).
        seq_len: Input length of a window.
        pred_len: Label length of a window.
        test_size: Windows per test block; ``None`` = n_windows // (n_splits + 1).
        gap: Windows (or a duration) left out between training and test; ``None`` = seq_len + pred_len - 1.
        bar: Bar length (``"1h"``), needed when ``gap`` is a duration.
    """

    def __init__(self, n_splits: int = 5, *, train_size: int, seq_len: int, pred_len: int,
                 test_size: int | None = None, gap: Length = None, bar: str | None = None) -> None:
        super().__init__(n_splits, seq_len=seq_len, pred_len=pred_len, test_size=test_size, gap=gap, bar=bar)
        self.train_size = train_size

    def _train_start(self, test_start: int, gap: int) -> int:
        if self.train_size < 1:
            raise ParamsError(f"train_size must be at least 1, got train_size={self.train_size}")
        return max(0, test_start - gap - self.train_size)


class BlockedSplit(_WindowSplitter):
    """Non-overlapping blocks of windows; in each, training first, then a margin, then the test part.

    Args:
        n_splits: Number of blocks, one fold each (>= 2).
        seq_len: Input length of a window.
        pred_len: Label length of a window.
        test_fraction: Share of each block's windows that are tested (its end), in (0, 1).
        margin: Windows (or a duration) left out between a block's training and test parts;
            ``None`` = seq_len + pred_len - 1, the least allowed.
        bar: Bar length (``"1h"``), needed when ``margin`` is a duration.
    """

    def __init__(self, n_splits: int = 5, *, seq_len: int, pred_len: int, test_fraction: float = 0.2,
                 margin: Length = None, bar: str | None = None) -> None:
        super().__init__(n_splits, seq_len, pred_len, bar)
        self.test_fraction, self.margin = test_fraction, margin

    def left_out(self) -> tuple[int, int]:
        """(the margin, no embargo)."""
        return self._separation(self.margin, "margin"), 0

    def split(self, X: Sized | Any, y: Any = None, groups: Any = None) -> Iterator[Split]:  # noqa: N803
        """Yield (train, test) window positions, one fold per block in time order."""
        self._check()
        if not 0 < self.test_fraction < 1:
            raise ParamsError(f"test_fraction must be between 0 and 1, got test_fraction={self.test_fraction}")
        margin = self.left_out()[0]
        for block in np.array_split(np.arange(len(X)), self.n_splits):
            n_test = max(1, round(len(block) * self.test_fraction))
            n_train = len(block) - n_test - margin
            if n_train < 1:
                raise ParamsError(
                    f"a block of {len(block)} windows (n_splits={self.n_splits}, {len(X)} windows) has no training "
                    f"window with test_fraction={self.test_fraction} and margin={margin}; use fewer splits or more data")
            yield block[:n_train], block[-n_test:]


class PurgedKFold(_WindowSplitter):
    """K contiguous test blocks; overlapping training windows purged, an embargo after each block.

    Args:
        n_splits: Number of folds (>= 2).
        seq_len: Input length of a window.
        pred_len: Label length of a window.
        purge: Windows (or a duration) purged on each side of a test block; ``None`` = seq_len + pred_len - 1,
            the least allowed (exactly the windows that share a row with the block).
        embargo: Windows (or a duration) dropped after each test block, beyond the purge; ``None`` = pred_len.
        bar: Bar length (``"1h"``), needed when ``purge`` or ``embargo`` is a duration.
    """

    def __init__(self, n_splits: int = 5, *, seq_len: int, pred_len: int, purge: Length = None,
                 embargo: Length = None, bar: str | None = None) -> None:
        super().__init__(n_splits, seq_len, pred_len, bar)
        self.purge, self.embargo = purge, embargo

    def left_out(self) -> tuple[int, int]:
        """(the purge on either side of a test block, the embargo after it)."""
        return self._separation(self.purge, "purge"), self._embargo(self.embargo)

    def split(self, X: Sized | Any, y: Any = None, groups: Any = None) -> Iterator[Split]:  # noqa: N803
        """Yield (train, test) window positions, test blocks in time order."""
        self._check()
        n = len(X)
        purge, embargo = self.left_out()
        if n < self.n_splits:
            raise ParamsError(f"too many splits={self.n_splits} for {n} windows; use fewer splits or more data")
        positions = np.arange(n)
        for block in np.array_split(positions, self.n_splits):
            yield positions[~_excluded(positions, [block], purge, embargo)], block


def _excluded(positions: np.ndarray, blocks: list[np.ndarray], purge: int, embargo: int) -> np.ndarray:
    """Windows within ``purge`` of a test block on either side, or in the embargo after it (a mask).

    A window starting at j spans rows j .. j + span - 1, so with ``purge = span - 1`` these are
    exactly the windows that share a row with the block's windows.
    """
    out = np.zeros(len(positions), dtype=bool)
    for block in blocks:
        a, b = int(block[0]), int(block[-1])
        out |= (positions >= a - purge) & (positions <= b + purge + embargo)
    return out


class CombinatorialPurgedSplit(_WindowSplitter):
    """Combinatorial purged cross-validation: every k of N contiguous groups as the test set.

    The groups hold n // N windows each, the last one the remainder (skfolio's grouping).

    Args:
        n_groups: N, the contiguous groups the windows are cut into (>= 2).
        n_test_groups: k, groups in each test set (1 <= k < N).
        seq_len: Input length of a window.
        pred_len: Label length of a window.
        purge: Windows (or a duration) purged on each side of a test group; ``None`` = seq_len + pred_len - 1.
        embargo: Windows (or a duration) dropped after each test group, beyond the purge; ``None`` = pred_len.
        bar: Bar length (``"1h"``), needed when ``purge`` or ``embargo`` is a duration.
    """

    def __init__(self, n_groups: int = 6, n_test_groups: int = 2, *, seq_len: int, pred_len: int,
                 purge: Length = None, embargo: Length = None, bar: str | None = None) -> None:
        super().__init__(n_groups, seq_len, pred_len, bar)
        self.n_test_groups, self.purge, self.embargo = n_test_groups, purge, embargo

    def __repr__(self) -> str:
        return (f"CombinatorialPurgedSplit(n_groups={self.n_splits}, n_test_groups={self.n_test_groups}, "
                f"seq_len={self.seq_len}, pred_len={self.pred_len}, purge={self.purge!r}, "
                f"embargo={self.embargo!r}, bar={self.bar!r})")

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:  # noqa: N803 (sklearn)
        """C(N, k) splits."""
        return math.comb(self.n_splits, self.n_test_groups)

    @property
    def n_paths(self) -> int:
        """Backtest paths: C(N-1, k-1)."""
        return math.comb(self.n_splits - 1, self.n_test_groups - 1)

    def combinations(self) -> list[tuple[int, ...]]:
        """The test groups of each split, in split order."""
        return list(itertools.combinations(range(self.n_splits), self.n_test_groups))

    def left_out(self) -> tuple[int, int]:
        """(the purge on either side of a test group, the embargo after it)."""
        return self._separation(self.purge, "purge"), self._embargo(self.embargo)

    def split(self, X: Sized | Any, y: Any = None, groups: Any = None) -> Iterator[Split]:  # noqa: N803
        """Yield (train, test) window positions for every combination of test groups."""
        self._check()
        if not 1 <= self.n_test_groups < self.n_splits:
            raise ParamsError(f"n_test_groups must be between 1 and n_groups - 1, got n_test_groups="
                              f"{self.n_test_groups} with n_groups={self.n_splits}")
        n = len(X)
        if n < self.n_splits:
            raise ParamsError(f"too many groups={self.n_splits} for {n} windows; use fewer groups or more data")
        purge, embargo = self.left_out()
        positions = np.arange(n)
        cut = self.groups(n)
        for combo in self.combinations():
            blocks = [cut[g] for g in combo]
            yield positions[~_excluded(positions, blocks, purge, embargo)], np.concatenate(blocks)

    def groups(self, n: int) -> list[np.ndarray]:
        """The N contiguous groups of ``n`` windows: n // N each, the last one also the remainder."""
        size = n // self.n_splits
        label = np.minimum(np.arange(n) // max(size, 1), self.n_splits - 1)
        return [np.flatnonzero(label == g) for g in range(self.n_splits)]

    def paths(self) -> list[list[int]]:
        """For each backtest path, the split whose forecast it takes for group 0, 1, ..., N-1.

        Group g is tested in C(N-1, k-1) splits; path p uses its p-th one (in split order), so the
        paths together use every (split, test group) pair exactly once.
        """
        seen: list[list[int]] = [[] for _ in range(self.n_splits)]
        for i, combo in enumerate(self.combinations()):
            for g in combo:
                seen[g].append(i)
        return [[seen[g][p] for g in range(self.n_splits)] for p in range(self.n_paths)]

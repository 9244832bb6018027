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
  reconstructs the C(N-1, k-1) backtest paths, each covering every group once.

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
from collections.abc import Iterator, Sized
from typing import Any

import numpy as np

from cryptexlab.errors import ParamsError

Split = tuple[np.ndarray, np.ndarray]


class _WindowSplitter:
    """Shared parts: the window span, argument checks, the repr."""

    def __init__(self, n_splits: int, seq_len: int, pred_len: int) -> None:
        self.n_splits, self.seq_len, self.pred_len = n_splits, seq_len, pred_len

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
        gap: Windows left out between training and test; ``None`` = seq_len + pred_len - 1.
    """

    def __init__(self, n_splits: int = 5, *, seq_len: int, pred_len: int, test_size: int | None = None,
                 gap: int | None = None) -> None:
        super().__init__(n_splits, seq_len, pred_len)
        self.test_size, self.gap = test_size, gap

    def _train_start(self, test_start: int, gap: int) -> int:
        return 0

    def split(self, X: Sized | Any, y: Any = None, groups: Any = None) -> Iterator[Split]:  # noqa: N803
        """Yield (train, test) window positions, oldest fold first."""
        self._check()
        n = len(X)
        gap = self.span - 1 if self.gap is None else self.gap
        test_size = n // (self.n_splits + 1) if self.test_size is None else self.test_size
        first = n - self.n_splits * test_size
        if gap < 0 or test_size < 1 or first - gap < 1:
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
        gap: Windows left out between training and test; ``None`` = seq_len + pred_len - 1.
    """

    def __init__(self, n_splits: int = 5, *, train_size: int, seq_len: int, pred_len: int,
                 test_size: int | None = None, gap: int | None = None) -> None:
        super().__init__(n_splits, seq_len=seq_len, pred_len=pred_len, test_size=test_size, gap=gap)
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
        margin: Windows left out between a block's training and test parts; ``None`` = seq_len + pred_len - 1.
    """

    def __init__(self, n_splits: int = 5, *, seq_len: int, pred_len: int, test_fraction: float = 0.2,
                 margin: int | None = None) -> None:
        super().__init__(n_splits, seq_len, pred_len)
        self.test_fraction, self.margin = test_fraction, margin

    def split(self, X: Sized | Any, y: Any = None, groups: Any = None) -> Iterator[Split]:  # noqa: N803
        """Yield (train, test) window positions, one fold per block in time order."""
        self._check()
        if not 0 < self.test_fraction < 1:
            raise ParamsError(f"test_fraction must be between 0 and 1, got test_fraction={self.test_fraction}")
        margin = self.span - 1 if self.margin is None else self.margin
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
        embargo: Windows dropped after each test block, beyond the purge; ``None`` = pred_len.
    """

    def __init__(self, n_splits: int = 5, *, seq_len: int, pred_len: int, embargo: int | None = None) -> None:
        super().__init__(n_splits, seq_len, pred_len)
        self.embargo = embargo

    def split(self, X: Sized | Any, y: Any = None, groups: Any = None) -> Iterator[Split]:  # noqa: N803
        """Yield (train, test) window positions, test blocks in time order."""
        self._check()
        n = len(X)
        embargo = self.pred_len if self.embargo is None else self.embargo
        if embargo < 0:
            raise ParamsError(f"embargo must be at least 0 windows, got embargo={embargo}")
        if n < self.n_splits:
            raise ParamsError(f"too many splits={self.n_splits} for {n} windows; use fewer splits or more data")
        positions = np.arange(n)
        for block in np.array_split(positions, self.n_splits):
            yield positions[~_excluded(positions, [block], self.span, embargo)], block


def _excluded(positions: np.ndarray, blocks: list[np.ndarray], span: int, embargo: int) -> np.ndarray:
    """Windows that share a row with any test block, or fall in the embargo after one (a mask)."""
    out = np.zeros(len(positions), dtype=bool)
    for block in blocks:
        a, b = int(block[0]), int(block[-1]) + 1
        # a window starting at j spans rows j .. j + span - 1; the block's windows span rows a .. b - 2 + span
        out |= (positions > a - span) & (positions < b - 1 + span + embargo)
    return out


class CombinatorialPurgedSplit(_WindowSplitter):
    """Combinatorial purged cross-validation: every k of N contiguous groups as the test set.

    Args:
        n_groups: N, the contiguous groups the windows are cut into (>= 2).
        n_test_groups: k, groups in each test set (1 <= k < N).
        seq_len: Input length of a window.
        pred_len: Label length of a window.
        embargo: Windows dropped after each test group, beyond the purge; ``None`` = pred_len.
    """

    def __init__(self, n_groups: int = 6, n_test_groups: int = 2, *, seq_len: int, pred_len: int,
                 embargo: int | None = None) -> None:
        super().__init__(n_groups, seq_len, pred_len)
        self.n_test_groups, self.embargo = n_test_groups, embargo

    def __repr__(self) -> str:
        return (f"CombinatorialPurgedSplit(n_groups={self.n_splits}, n_test_groups={self.n_test_groups}, "
                f"seq_len={self.seq_len}, pred_len={self.pred_len}, embargo={self.embargo!r})")

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

    def split(self, X: Sized | Any, y: Any = None, groups: Any = None) -> Iterator[Split]:  # noqa: N803
        """Yield (train, test) window positions for every combination of test groups."""
        self._check()
        if not 1 <= self.n_test_groups < self.n_splits:
            raise ParamsError(f"n_test_groups must be between 1 and n_groups - 1, got n_test_groups="
                              f"{self.n_test_groups} with n_groups={self.n_splits}")
        n = len(X)
        if n < self.n_splits:
            raise ParamsError(f"too many groups={self.n_splits} for {n} windows; use fewer groups or more data")
        embargo = self.pred_len if self.embargo is None else self.embargo
        if embargo < 0:
            raise ParamsError(f"embargo must be at least 0 windows, got embargo={embargo}")
        positions = np.arange(n)
        cut = np.array_split(positions, self.n_splits)
        for combo in self.combinations():
            blocks = [cut[g] for g in combo]
            yield positions[~_excluded(positions, blocks, self.span, embargo)], np.concatenate(blocks)

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

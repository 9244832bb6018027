"""Splitters over windows: exact folds, scikit-learn agreement, no shared rows between train and test."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from sklearn.model_selection import TimeSeriesSplit

from cryptexlab.cv.splitters import (
    BlockedSplit,
    CombinatorialPurgedSplit,
    ExpandingWindowSplit,
    PurgedKFold,
    SlidingWindowSplit,
)
from cryptexlab.errors import ParamsError


def folds(cv, n: int) -> list[tuple[list[int], list[int]]]:
    return [(tr.tolist(), te.tolist()) for tr, te in cv.split(np.zeros(n))]


def rows(windows: np.ndarray, span: int) -> set[int]:
    return {r for w in windows.tolist() for r in range(w, w + span)}


def test_expanding_exact_folds() -> None:
    cv = ExpandingWindowSplit(3, seq_len=2, pred_len=1, test_size=2)
    assert folds(cv, 10) == [([0, 1], [4, 5]), ([0, 1, 2, 3], [6, 7]), ([0, 1, 2, 3, 4, 5], [8, 9])]
    assert cv.get_n_splits() == 3


@pytest.mark.parametrize("n,k,test_size,gap", [(50, 4, None, 3), (37, 3, 5, 2), (100, 5, 10, 7)])
def test_expanding_equals_scikit_learns_time_series_split(n, k, test_size, gap) -> None:
    ours = ExpandingWindowSplit(k, seq_len=2, pred_len=1, test_size=test_size, gap=gap)
    theirs = TimeSeriesSplit(n_splits=k, test_size=test_size, gap=gap)
    X = np.zeros(n)
    for (a, b), (c, d) in zip(ours.split(X), theirs.split(X), strict=True):
        assert a.tolist() == c.tolist() and b.tolist() == d.tolist()


def test_sliding_keeps_the_newest_training_windows() -> None:
    cv = SlidingWindowSplit(3, train_size=2, seq_len=2, pred_len=1, test_size=2)
    assert folds(cv, 10) == [([0, 1], [4, 5]), ([2, 3], [6, 7]), ([4, 5], [8, 9])]


def test_purged_kfold_exact_folds() -> None:
    cv = PurgedKFold(3, seq_len=2, pred_len=1, embargo=1)
    assert folds(cv, 12) == [([7, 8, 9, 10, 11], [0, 1, 2, 3]), ([0, 1, 11], [4, 5, 6, 7]),
                             ([0, 1, 2, 3, 4, 5], [8, 9, 10, 11])]
    default = PurgedKFold(3, seq_len=2, pred_len=1)
    assert default.embargo is None and folds(default, 12) == folds(cv, 12)  # embargo defaults to pred_len


def test_repr_names_every_parameter() -> None:
    assert repr(PurgedKFold(4, seq_len=96, pred_len=24)) == (
        "PurgedKFold(n_splits=4, seq_len=96, pred_len=24, bar=None, purge=None, embargo=None)")
    assert repr(SlidingWindowSplit(2, train_size=9, seq_len=4, pred_len=2)) == (
        "SlidingWindowSplit(n_splits=2, seq_len=4, pred_len=2, bar=None, test_size=None, gap=None, train_size=9)")


@given(n=st.integers(20, 400), k=st.integers(2, 6), seq_len=st.integers(1, 12), pred_len=st.integers(1, 6),
       embargo=st.integers(0, 5))
@settings(max_examples=200, deadline=None)
def test_purged_training_windows_share_no_row_with_a_test_block_or_its_embargo(n, k, seq_len, pred_len, embargo) -> None:
    span = seq_len + pred_len
    cv = PurgedKFold(k, seq_len=seq_len, pred_len=pred_len, embargo=embargo)
    tested = []
    for train, test in cv.split(np.zeros(n)):
        assert not rows(train, span) & rows(test, span)
        last = int(test[-1])
        after = set(range(last + 1, last + span + embargo))  # windows overlapping the block, then the embargo
        assert not after & set(train.tolist())
        tested += test.tolist()
    assert tested == list(range(n))  # every window is tested exactly once, in time order


@given(n=st.integers(30, 400), k=st.integers(2, 5), seq_len=st.integers(1, 8), pred_len=st.integers(1, 4))
@settings(max_examples=200, deadline=None)
def test_expanding_training_rows_end_before_the_test_rows(n, k, seq_len, pred_len) -> None:
    span = seq_len + pred_len
    cv = ExpandingWindowSplit(k, seq_len=seq_len, pred_len=pred_len)
    try:
        splits = list(cv.split(np.zeros(n)))
    except ParamsError:
        reject()  # too little data for this many folds: refused, never a leaky split (counted by hypothesis)
    for train, test in splits:
        assert max(rows(train, span)) < int(test[0])


@pytest.mark.parametrize("cv,n,message", [
    (ExpandingWindowSplit(5, seq_len=10, pred_len=5), 20,
     r"too many splits=5 for 20 windows with test_size=3 and gap=14: the first fold would have no training window"),
    (PurgedKFold(1, seq_len=2, pred_len=1), 10, r"n_splits must be at least 2, got n_splits=1"),
    (PurgedKFold(3, seq_len=2, pred_len=1, embargo=-1), 10, r"embargo must be at least 0 windows, got embargo=-1"),
    (PurgedKFold(5, seq_len=2, pred_len=1), 3, r"too many splits=5 for 3 windows"),
    (PurgedKFold(2, seq_len=0, pred_len=1), 10, r"seq_len and pred_len must be at least 1, got seq_len=0, pred_len=1"),
    (SlidingWindowSplit(2, train_size=0, seq_len=2, pred_len=1), 20, r"train_size must be at least 1, got train_size=0"),
])
def test_errors_name_every_value(cv, n, message) -> None:
    with pytest.raises(ParamsError, match=message):
        list(cv.split(np.zeros(n)))


def test_cpcv_exact_folds_and_paths() -> None:
    cv = CombinatorialPurgedSplit(4, 2, seq_len=1, pred_len=1, embargo=0)
    assert folds(cv, 8) == [([5, 6, 7], [0, 1, 2, 3]), ([7], [0, 1, 4, 5]), ([3, 4], [0, 1, 6, 7]),
                            ([0, 7], [2, 3, 4, 5]), ([0], [2, 3, 6, 7]), ([0, 1, 2], [4, 5, 6, 7])]
    assert cv.get_n_splits() == 6 and cv.n_paths == 3
    assert cv.paths() == [[0, 0, 1, 2], [1, 3, 3, 4], [2, 4, 5, 5]]
    assert repr(cv) == ("CombinatorialPurgedSplit(n_groups=4, n_test_groups=2, seq_len=1, pred_len=1, purge=None, "
                        "embargo=0, bar=None)")


@given(n_groups=st.integers(3, 7), k=st.integers(1, 3), seq_len=st.integers(1, 6), pred_len=st.integers(1, 4),
       embargo=st.integers(0, 3), per_group=st.integers(3, 30))
@settings(max_examples=150, deadline=None)
def test_cpcv_never_shares_rows_and_its_paths_cover_every_group_once(n_groups, k, seq_len, pred_len, embargo,
                                                                     per_group) -> None:
    k = min(k, n_groups - 1)
    n, span = n_groups * per_group, seq_len + pred_len
    cv = CombinatorialPurgedSplit(n_groups, k, seq_len=seq_len, pred_len=pred_len, embargo=embargo)
    splits = list(cv.split(np.zeros(n)))
    assert len(splits) == cv.get_n_splits()
    for (train, test), combo in zip(splits, cv.combinations(), strict=True):
        assert not rows(train, span) & rows(test, span)
        groups = cv.groups(n)
        assert test.tolist() == np.concatenate([groups[g] for g in combo]).tolist()
    used = sorted((split, g) for path in cv.paths() for g, split in enumerate(path))
    assert used == sorted((i, g) for i, combo in enumerate(cv.combinations()) for g in combo)


@pytest.mark.parametrize("k,n,message", [
    (0, 12, r"n_test_groups must be between 1 and n_groups - 1, got n_test_groups=0 with n_groups=4"),
    (4, 12, r"n_test_groups must be between 1 and n_groups - 1, got n_test_groups=4 with n_groups=4"),
    (2, 3, r"too many groups=4 for 3 windows"),
])
def test_cpcv_errors(k, n, message) -> None:
    with pytest.raises(ParamsError, match=message):
        list(CombinatorialPurgedSplit(4, k, seq_len=2, pred_len=1).split(np.zeros(n)))


def test_blocked_exact_folds() -> None:
    cv = BlockedSplit(2, seq_len=1, pred_len=1, test_fraction=0.25)
    assert folds(cv, 16) == [([0, 1, 2, 3, 4], [6, 7]), ([8, 9, 10, 11, 12], [14, 15])]


@given(n=st.integers(40, 400), k=st.integers(2, 5), seq_len=st.integers(1, 6), pred_len=st.integers(1, 3),
       fraction=st.floats(0.1, 0.5))
@settings(max_examples=150, deadline=None)
def test_blocked_folds_share_no_rows_and_do_not_overlap(n, k, seq_len, pred_len, fraction) -> None:
    span = seq_len + pred_len
    try:
        splits = list(BlockedSplit(k, seq_len=seq_len, pred_len=pred_len, test_fraction=fraction).split(np.zeros(n)))
    except ParamsError:
        reject()  # a block too small for a training window: refused (counted by hypothesis)
    seen: set[int] = set()
    for train, test in splits:
        assert not rows(train, span) & rows(test, span)
        mine = set(train.tolist()) | set(test.tolist())
        assert not mine & seen
        seen |= mine


@pytest.mark.parametrize("cv,n,message", [
    (BlockedSplit(2, seq_len=1, pred_len=1, test_fraction=1.0), 20, r"test_fraction must be between 0 and 1, got test_fraction=1.0"),
    (BlockedSplit(4, seq_len=10, pred_len=5), 40, r"a block of 10 windows \(n_splits=4, 40 windows\) has no training window"),
])
def test_blocked_errors(cv, n, message) -> None:
    with pytest.raises(ParamsError, match=message):
        list(cv.split(np.zeros(n)))


def test_purge_and_embargo_in_hours_equal_the_same_in_bars() -> None:
    hours = PurgedKFold(3, seq_len=2, pred_len=1, purge="3h", embargo="2h", bar="1h")
    bars = PurgedKFold(3, seq_len=2, pred_len=1, purge=3, embargo=2)
    assert folds(hours, 30) == folds(bars, 30)
    assert folds(bars, 30)[1] == (list(range(0, 7)) + list(range(25, 30)), list(range(10, 20)))
    four_hourly = CombinatorialPurgedSplit(4, 2, seq_len=2, pred_len=1, purge="8h", embargo="4h", bar="4h")
    assert folds(four_hourly, 40) == folds(CombinatorialPurgedSplit(4, 2, seq_len=2, pred_len=1, purge=2, embargo=1), 40)
    assert folds(ExpandingWindowSplit(2, seq_len=2, pred_len=1, gap="1d", bar="1h"), 90) == \
        folds(ExpandingWindowSplit(2, seq_len=2, pred_len=1, gap=24), 90)


@pytest.mark.parametrize("cv,message", [
    (PurgedKFold(3, seq_len=96, pred_len=24, purge="24h", bar="1h"),
     r"purge='24h' \(24 windows\) is below seq_len \+ pred_len - 1 = 96 \+ 24 - 1 = 119: a training window within "
     r"it would share rows with the test block; use purge >= 119 or null"),
    (ExpandingWindowSplit(3, seq_len=4, pred_len=2, gap=2), r"gap=2 \(2 windows\) is below .* = 5"),
    (BlockedSplit(3, seq_len=4, pred_len=2, margin=0), r"margin=0 \(0 windows\) is below"),
    (PurgedKFold(3, seq_len=2, pred_len=1, purge="3h"), r"purge='3h' is a duration, but no bar length was given; "
                                                          r"pass bar='1h'"),
    (PurgedKFold(3, seq_len=2, pred_len=1, embargo="90min", bar="1h"), r"embargo='90min' is not a whole number of 1h bars"),
    (PurgedKFold(3, seq_len=2, pred_len=1, embargo="soon", bar="1h"), r"embargo='soon' is neither a number of bars nor "
                                                                       r"a duration"),
    (CombinatorialPurgedSplit(4, 2, seq_len=2, pred_len=1, embargo=-2), r"embargo must be at least 0 windows, got embargo=-2"),
])
def test_leaky_or_unreadable_lengths_are_refused(cv, message) -> None:
    with pytest.raises(ParamsError, match=message):
        list(cv.split(np.zeros(300)))


@pytest.mark.parametrize("n,n_groups,k,seq_len,pred_len,purge,embargo", [
    (60, 4, 2, 2, 1, None, 0), (61, 5, 2, 3, 2, None, None), (97, 6, 3, 2, 2, 5, 2), (120, 3, 2, 4, 1, 6, 3),
    (203, 7, 2, 3, 3, None, 4),
])
def test_cpcv_equals_skfolios_combinatorial_purged_cv(n, n_groups, k, seq_len, pred_len, purge, embargo) -> None:
    skfolio = pytest.importorskip("skfolio.model_selection")
    ours = CombinatorialPurgedSplit(n_groups, k, seq_len=seq_len, pred_len=pred_len, purge=purge, embargo=embargo)
    theirs = skfolio.CombinatorialPurgedCV(
        n_folds=n_groups, n_test_folds=k, purged_size=seq_len + pred_len - 1 if purge is None else purge,
        embargo_size=pred_len if embargo is None else embargo)
    X = np.zeros((n, 1))
    ours_folds = list(ours.split(X))
    theirs_folds = list(theirs.split(X))
    assert len(ours_folds) == len(theirs_folds) == ours.get_n_splits() == theirs.n_splits
    for (a, b), (c, d) in zip(ours_folds, theirs_folds, strict=True):
        assert a.tolist() == c.tolist()
        assert b.tolist() == np.concatenate(d).tolist()
    # path p takes group g's forecast from split recombined_paths[g, p] in skfolio
    assert ours.paths() == theirs.recombined_paths.T.tolist()
    assert ours.n_paths == theirs.n_test_paths

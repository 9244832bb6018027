"""The stationary bootstrap of ``stats.bootstrap``: reproducible replications, percentile intervals with
known answers, the block length on white noise and on AR(1), and the coverage of a mean's interval."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from cryptexlab.stats.bootstrap import block_length, percentile_interval, replicate


def white(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng([1, seed]).standard_normal(n)


def ar1(phi: float, n: int, seed: int, burn: int = 500) -> np.ndarray:
    e = np.random.default_rng([2, seed]).standard_normal(n + burn)
    x = np.zeros(n + burn)
    for t in range(1, n + burn):
        x[t] = phi * x[t - 1] + e[t]
    return x[burn:]


def mean_of(x: np.ndarray) -> Callable[[np.ndarray], float]:
    """The statistic: the mean of ``x`` at the resampled positions."""
    return lambda i: float(x[i].mean())


def continued(i: np.ndarray) -> float:
    """The share of resampled positions that continue the previous one's block (i[t] == i[t-1] + 1)."""
    return float(np.mean(np.diff(i) == 1))


def test_replications_are_reproducible_for_a_seed_and_differ_for_another() -> None:
    x, mean = white(200, 0), mean_of(white(200, 0))
    first = replicate(200, mean, reps=50, seed=3, series=x)
    assert first.shape == (50,) and np.array_equal(first, replicate(200, mean, reps=50, seed=3, series=x))
    assert not np.array_equal(first, replicate(200, mean, reps=50, seed=4, series=x))
    assert len(np.unique(first)) > 40  # 50 resamples, (almost) all different


def test_a_statistic_of_several_values_gives_one_row_per_replication() -> None:
    out = replicate(30, lambda i: np.array([len(i), i.min(), i.max()]), reps=20, seed=0, width=3)
    assert out.shape == (20, 3)
    assert (out[:, 0] == 30).all() and (out[:, 1] >= 0).all() and (out[:, 2] <= 29).all()  # n positions in 0..n-1


def test_percentile_intervals_with_known_answers() -> None:
    constant = np.full(120, 2.5)
    reps = replicate(120, mean_of(constant), reps=100, seed=0, series=constant)
    assert percentile_interval(reps, 0.95) == (2.5, 2.5)  # every resample of a constant has its mean
    assert percentile_interval(np.arange(101.0), 0.90) == pytest.approx((5.0, 95.0))  # 5th and 95th percentiles
    assert percentile_interval(np.arange(101.0), 0.50) == pytest.approx((25.0, 75.0))
    with_nan = np.concatenate([np.arange(101.0), [np.nan] * 30])
    assert percentile_interval(with_nan, 0.90) == pytest.approx((5.0, 95.0))  # NaN replications are ignored


def test_block_length_grows_with_autocorrelation() -> None:
    noise, persistent = block_length(white(1000, 0)), block_length(ar1(0.9, 1000, 0))
    assert 1.0 <= noise < 3.0  # white noise: (almost) one window per block
    assert persistent > 10.0 and persistent > 10 * noise  # phi = 0.9: long blocks
    assert block_length(ar1(0.5, 1000, 0)) < persistent  # less persistence, shorter blocks


@pytest.mark.parametrize("series", [np.arange(9.0), np.full(50, 3.0), np.r_[white(49, 0), np.nan],
                                    np.r_[white(49, 0), np.inf]], ids=["short", "constant", "nan", "inf"])
def test_block_length_of_a_series_it_cannot_judge_is_one(series: np.ndarray) -> None:
    assert block_length(series) == 1.0


def test_the_resamples_use_the_block_length() -> None:
    x = ar1(0.9, 1500, 1)
    share = replicate(1500, continued, reps=40, seed=0, series=x).mean()
    assert share == pytest.approx(1 - 1 / block_length(x), abs=0.01)  # a new block starts with p = 1 / length
    assert replicate(1500, continued, reps=40, seed=0).mean() < 0.01  # no series: i.i.d. positions


def test_blocks_widen_the_interval_of_a_dependent_mean() -> None:
    x = ar1(0.9, 1500, 2)

    def width(series: np.ndarray | None) -> float:
        lo, hi = percentile_interval(replicate(1500, mean_of(x), reps=300, seed=0,
                                               series=series), 0.90)
        return hi - lo

    # an i.i.d. resample sees the variance only; the mean's long-run sd is sqrt((1 + phi) / (1 - phi)) = 4.36 times it
    assert 2.5 < width(x) / width(None) < 6.0


def test_interval_of_an_iid_mean_covers_the_true_mean_at_about_the_nominal_rate() -> None:
    runs, hits = 400, 0
    for seed in range(runs):
        x = 2.0 + white(100, 100 + seed)
        lo, hi = percentile_interval(replicate(100, mean_of(x), reps=200, seed=seed,
                                               series=x), 0.90)
        hits += lo <= 2.0 <= hi
    # nominal 0.90; the percentile interval of 100 draws covers a little less (0.887 over 2,000 runs); the
    # binomial sd of 400 runs is 0.016, so the band is about 4 sd wide or more on either side
    assert 0.80 <= hits / runs <= 0.95

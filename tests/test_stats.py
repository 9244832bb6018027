"""The verdict's statistics: known answers, independent computations, error messages."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from cryptexlab.errors import ParamsError
from cryptexlab.stats import (
    deflated_sharpe,
    diebold_mariano,
    error_ratio_interval,
    expected_max_sharpe,
    model_confidence_set,
    multiple_tests,
    pbo_cscv,
    pesaran_timmermann,
    probabilistic_sharpe,
    step_ratios,
    window_losses,
)


def walk_data(n: int = 1500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    y = np.cumsum(np.random.default_rng(seed).standard_normal(n + 1))
    return y[:-1], y[1:, None]


def test_window_losses_at_one_step_and_over_the_horizon() -> None:
    pred, target = np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [1.0, 3.0]])
    assert window_losses(pred, target, "mae", 1).tolist() == [1.0, 1.0]
    assert window_losses(pred, target, "mae", None).tolist() == [1.5, 2.0]
    assert window_losses(pred, target, "mse", 2).tolist() == [4.0, 9.0]


@pytest.mark.parametrize("kwargs, message", [
    ({"loss": "huber"}, "unknown loss 'huber'"),
    ({"step": 3}, "step=3 is outside the horizon 1..2"),
])
def test_window_losses_errors(kwargs, message) -> None:
    with pytest.raises(ParamsError, match=message):
        window_losses(np.zeros((2, 2)), np.zeros((2, 2)), **kwargs)


def test_step_ratios_are_exact() -> None:
    last = np.array([0.0, 0.0])
    target = np.array([[1.0, 2.0], [-1.0, -2.0]])
    pred = np.array([[0.5, 2.0], [-0.5, -2.0]])
    r = step_ratios(pred, target, last)
    assert r["mae_ratio"].tolist() == [0.5, 0.0]
    assert r["theil_u"].tolist() == [0.5, 0.0]


def test_diebold_mariano_is_statsmodels_hln_one_sided() -> None:
    from scipy import stats as sps
    from statsmodels.tsa.stattools import diebold_mariano_test

    last, target = walk_data()
    walk = last[:, None]
    rng = np.random.default_rng(1)
    better = target + 0.8 * rng.standard_normal(target.shape)
    res = diebold_mariano(target, better, walk, loss="mse")
    ref = diebold_mariano_test(target[:, 0], walk[:, 0], better[:, 0], criterion="mse", harvey_adj=True, horizon=1)
    assert res.statistic == pytest.approx(float(ref.statistic))
    assert res.p_value == pytest.approx(float(sps.t.sf(ref.statistic, len(target) - 1)))
    assert res.p_value < 0.01
    worse = walk + rng.standard_normal(walk.shape)
    assert diebold_mariano(target, worse, walk).p_value > 0.99


def test_diebold_mariano_over_all_steps_uses_the_horizon() -> None:
    from statsmodels.tsa.stattools import diebold_mariano_test

    rng = np.random.default_rng(2)
    target = rng.standard_normal((400, 4))
    a, b = target + rng.standard_normal((400, 4)), target + 1.1 * rng.standard_normal((400, 4))
    res = diebold_mariano(target, a, b, step=None)
    la, lb = np.abs(a - target).mean(axis=1), np.abs(b - target).mean(axis=1)
    ref = diebold_mariano_test(np.zeros(400), lb, la, criterion=lambda y, f: f, harvey_adj=True, horizon=4)
    assert res.statistic == pytest.approx(float(ref.statistic))
    assert "horizon 4" in res.detail


def test_pesaran_timmermann_squared_equals_the_contingency_chi_square() -> None:
    """PT is asymptotically the 2x2 independence test (Pesaran and Timmermann 1992): PT^2 ~ Pearson's chi^2."""
    rng = np.random.default_rng(3)
    r = rng.standard_normal(4000)
    f = r + 2.5 * rng.standard_normal(4000)
    res = pesaran_timmermann(r, f)
    chi2 = chi2_contingency(pd.crosstab(r > 0, f > 0).to_numpy(), correction=False)[0]
    assert res.statistic**2 == pytest.approx(chi2, rel=0.01)
    assert res.p_value < 1e-6
    assert pesaran_timmermann(r, rng.standard_normal(4000)).p_value > 0.001


def test_pesaran_timmermann_on_a_hand_computed_case() -> None:
    # y: + + - - ; x: + - - -  -> P = 3/4, Py = 1/2, Px = 1/4, P* = 1/2
    res = pesaran_timmermann(np.array([1.0, 1, -1, -1]), np.array([1.0, -1, -1, -1]))
    n, py, px, p_star = 4, 0.5, 0.25, 0.5
    v_p = p_star * (1 - p_star) / n
    v_star = (2 * px - 1) ** 2 * py * (1 - py) / n + 4 * py * px * (1 - py) * (1 - px) / n**2
    assert res.statistic == pytest.approx((0.75 - p_star) / math.sqrt(v_p - v_star))


def test_a_forecast_that_never_changes_direction_has_no_pt_test() -> None:
    res = pesaran_timmermann(np.array([1.0, -1, 1, -1]), np.ones(4))
    assert math.isnan(res.statistic) and math.isnan(res.p_value)


def test_error_ratio_interval_brackets_the_ratio() -> None:
    rng = np.random.default_rng(4)
    b = np.abs(rng.standard_normal(800))
    a = 0.9 * b + 0.05 * np.abs(rng.standard_normal(800))
    ratio, lo, hi = error_ratio_interval(a, b, reps=300)
    assert ratio == pytest.approx(a.mean() / b.mean())
    assert lo < ratio < hi < 1.0


def test_multiple_tests_find_the_one_better_model() -> None:
    rng = np.random.default_rng(5)
    bench = rng.standard_normal(600) ** 2
    models = pd.DataFrame({"good": 0.7 * bench, "noise": bench + 0.5 * rng.standard_normal(600) ** 2,
                           "same": bench})
    res = multiple_tests(bench, models, reps=300)
    assert res.superior == ["good"]
    assert res.spa.p_value < 0.05 and res.reality_check.p_value < 0.05
    assert res.n_models == 3  # the benchmark's copy counts as tried


def test_stepm_names_every_model_when_every_model_is_better() -> None:
    """arch 8.0's StepM fails once it has rejected every model; that case means all are superior."""
    rng = np.random.default_rng(10)
    bench = rng.standard_normal(600) ** 2 + 1
    models = pd.DataFrame({"a": 0.5 * bench, "b": 0.6 * bench})
    assert multiple_tests(bench, models, reps=300).superior == ["a", "b"]


def test_multiple_tests_do_not_reject_on_pure_noise() -> None:
    rng = np.random.default_rng(6)
    bench = rng.standard_normal(600) ** 2
    models = pd.DataFrame({f"m{i}": bench + 0.3 * (rng.standard_normal(600) ** 2 - 1) for i in range(10)})
    res = multiple_tests(bench, models, reps=300)
    assert res.superior == [] and res.spa.p_value > 0.05


def test_multiple_tests_errors() -> None:
    with pytest.raises(ParamsError, match="need at least one model with 3 losses"):
        multiple_tests(np.ones(3), pd.DataFrame({"a": np.ones(4)}))


def test_model_confidence_set_keeps_the_best_and_merges_identical_models() -> None:
    rng = np.random.default_rng(7)
    base = rng.standard_normal(500) ** 2
    losses = pd.DataFrame({"best": 0.5 * base, "walk": base + 0.2, "walk_copy": base + 0.2})
    mcs = model_confidence_set(losses, reps=300).set_index("model")
    assert bool(mcs.loc["best", "in_set"]) and not bool(mcs.loc["walk", "in_set"])
    assert mcs.loc["walk", "mcs_p_value"] == mcs.loc["walk_copy", "mcs_p_value"]
    with pytest.raises(ParamsError, match="needs at least two models"):
        model_confidence_set(losses[["best"]])


def test_deflated_sharpe_reproduces_the_papers_worked_example() -> None:
    """Bailey and Lopez de Prado (2014): annual SR 2.5 over 5 years of daily returns (T = 1250), skew -3,
    kurtosis 10, N = 100 trials with annualised SR variance 0.5: SR0 = 0.1132 per day and DSR = 0.9004."""
    sr, sr0 = 2.5 / math.sqrt(250), expected_max_sharpe(100, 0.5 / 250)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    assert probabilistic_sharpe(sr, sr0, 1250, -3.0, 10.0) == pytest.approx(0.9004, abs=5e-4)


def test_deflated_sharpe_of_returns_and_its_edge_cases() -> None:
    rng = np.random.default_rng(8)
    r = 0.001 + 0.01 * rng.standard_normal(2000)
    one = deflated_sharpe(r, 1, 0.0)
    many = deflated_sharpe(r, 1000, 0.01**2)
    assert one["sr0"] == 0.0 and many["sr0"] > 0 and many["dsr"] < one["dsr"]
    assert one["sr"] == pytest.approx(r.mean() / r.std(ddof=1))
    with pytest.raises(ParamsError, match="n_trials=0 must be at least 1"):
        expected_max_sharpe(0, 1.0)


def test_pbo_of_a_dominant_strategy_is_zero_and_of_noise_near_a_half() -> None:
    rng = np.random.default_rng(9)
    noise = rng.standard_normal((1600, 8))
    dominant = noise.copy()
    dominant[:, 0] += 0.5
    assert pbo_cscv(dominant, n_blocks=8)["pbo"] == 0.0
    shares = [pbo_cscv(np.random.default_rng(s).standard_normal((800, 8)), n_blocks=8)["pbo"] for s in range(6)]
    assert 0.3 < np.mean(shares) < 0.7


def test_pbo_on_a_hand_computed_case() -> None:
    """Two strategies, four blocks of two bars: strategy a wins blocks 0-1, b wins blocks 2-3, so the in-sample
    winner of a half that is all of one kind loses out of sample (4 of the 6 halves are mixed and tie-free)."""
    a = np.array([2, 1, 2, 1, -1, -2, -1, -2], dtype=float)
    b = -a
    res = pbo_cscv(np.column_stack([a, b]), n_blocks=4)
    # halves {0,1} and {2,3}: the winner inside is the loser outside (logit < 0); the four mixed halves tie
    # in-sample (Sharpe 0 each), argmax picks a, which also ties out of sample: rank 1.5 of 2, logit 0
    assert res["n_combinations"] == 6
    assert res["pbo"] == 1.0
    assert sorted(np.round(res["logits"], 6).tolist())[:2] == [round(math.log(1 / 2), 6)] * 2


@pytest.mark.parametrize("n_blocks, shape, message", [
    (5, (100, 3), "must be an even number"),
    (4, (100, 1), "at least two strategies"),
    (16, (20, 3), "too few for 16 blocks"),
])
def test_pbo_errors(n_blocks, shape, message) -> None:
    with pytest.raises(ParamsError, match=message):
        pbo_cscv(np.zeros(shape), n_blocks=n_blocks)

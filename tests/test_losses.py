"""Losses: exact values, gradient directions, quantile recovery, trading behaviour, errors (hypothesis)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptexlab.errors import ParamsError
from cryptexlab.losses import (
    LOSSES,
    QuantileLoss,
    RobustLoss,
    SharpeLoss,
    TradingLoss,
    build_loss,
    coverage,
    interval_coverage,
    pinball,
    sort_quantiles,
)

Z07 = 0.5244005127080407  # standard normal 0.7-quantile
Z09 = 1.2815515655446004  # standard normal 0.9-quantile


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def sgd_step(loss_fn, pred: torch.Tensor, target: torch.Tensor, lr: float,
             last: torch.Tensor | None = None) -> tuple[float, float, torch.Tensor]:
    """Loss before, loss after one SGD step on pred, and the updated pred."""
    p = pred.clone().requires_grad_(True)
    before = loss_fn(p, target, last)
    before.backward()
    assert p.grad is not None and p.grad.abs().sum() > 0, "zero gradient"
    with torch.no_grad():
        stepped = p - lr * p.grad
    return float(before.detach()), float(loss_fn(stepped, target, last)), stepped


# ---------------------------------------------------------------- factory and attributes


def test_factory_names_attributes_and_case() -> None:
    assert list(LOSSES) == ["MSE", "MAE", "MAPE", "ASYMMETRIC", "QUANTILE", "SHARPE_LOSS", "TRADING_LOSS", "ROBUST"]
    for name, cls in LOSSES.items():
        loss = build_loss(name.lower())
        assert isinstance(loss, torch.nn.Module) and isinstance(loss, cls) and loss.name == name
        assert loss.needs_prices is (name in {"SHARPE_LOSS", "TRADING_LOSS"})
    assert build_loss("Asymmetric", q=0.2).q == 0.2


@pytest.mark.parametrize("name", ["MSE", "MAE", "MAPE", "ASYMMETRIC", "ROBUST"])
def test_error_losses_ignore_last(name: str) -> None:
    pred, target = torch.rand(4, 3, generator=gen(0)) + 1, torch.rand(4, 3, generator=gen(1)) + 1
    loss = build_loss(name)
    assert torch.equal(loss(pred, target), loss(pred, target, torch.full((4,), 7.0)))


# ---------------------------------------------------------------- exact values


def test_mse_mae_exact_values() -> None:
    pred = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    target = torch.tensor([[0.0, 2.0], [5.0, 4.0]])  # errors 1, 0, -2, 0
    assert build_loss("MSE")(pred, target).item() == pytest.approx(5 / 4)
    assert build_loss("MAE")(pred, target).item() == pytest.approx(3 / 4)


def test_mape_exact_value_and_eps_guard() -> None:
    pred, target = torch.tensor([[110.0, 90.0, 50.0]]), torch.tensor([[100.0, 100.0, 200.0]])
    assert build_loss("MAPE")(pred, target).item() == pytest.approx((0.1 + 0.1 + 0.75) / 3)
    guarded = build_loss("MAPE", eps=0.01)(torch.tensor([[0.001]]), torch.tensor([[0.0]]))
    assert guarded.item() == pytest.approx(0.1)  # |0.001 - 0| / max(0, 0.01)


def test_asymmetric_is_pinball_at_07_on_random_data() -> None:
    pred, target = torch.randn(64, 12, generator=gen(2)), torch.randn(64, 12, generator=gen(3))
    loss = build_loss("ASYMMETRIC")(pred, target)
    assert torch.equal(loss, pinball(pred, target, 0.7))
    weighted = (0.7 * (target - pred).clamp_min(0) + 0.3 * (pred - target).clamp_min(0)).mean()
    torch.testing.assert_close(loss, weighted)


# ---------------------------------------------------------------- gradients point to the target


@pytest.mark.parametrize("name", ["MSE", "MAE", "MAPE", "ASYMMETRIC", "ROBUST"])
@pytest.mark.parametrize("offset", [0.5, -0.5])
def test_one_sgd_step_moves_pred_toward_target(name: str, offset: float) -> None:
    target = torch.rand(8, 4, generator=gen(4)) + 1.0
    pred = target + offset * (1 + torch.rand(8, 4, generator=gen(5)))
    before, after, stepped = sgd_step(build_loss(name), pred, target, lr=0.5)
    assert after < before
    assert bool(((stepped - target).abs() < (pred - target).abs()).all())


# ---------------------------------------------------------------- pinball recovers a quantile


def test_pinball_argmin_over_grid_is_the_quantile_of_a_normal() -> None:
    samples = 2.0 * torch.randn(200_000, generator=gen(6), dtype=torch.float64)
    grid = torch.linspace(-2, 2, 801, dtype=torch.float64)
    for q, expected in ((0.7, 2 * Z07), (0.3, -2 * Z07), (0.5, 0.0)):
        losses = torch.stack([pinball(c.expand_as(samples), samples, q) for c in grid])
        assert grid[losses.argmin()].item() == pytest.approx(expected, abs=0.03)


def test_asymmetric_gradient_descent_forecasts_the_07_quantile() -> None:
    target = torch.randn(20_000, 1, generator=gen(7))
    c = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([c], lr=0.02)
    loss_fn = build_loss("ASYMMETRIC")
    for _ in range(400):
        opt.zero_grad()
        loss_fn(c.expand_as(target), target).backward()
        opt.step()
    assert c.item() == pytest.approx(Z07, abs=0.05)  # not the mean 0


# ---------------------------------------------------------------- quantile regression


def test_quantile_outputs_train_to_their_quantiles_and_cover() -> None:
    quantiles = (0.1, 0.5, 0.9)
    loss_fn = build_loss("QUANTILE", quantiles=quantiles)
    target = torch.randn(2000, 8, generator=gen(8))
    theta = torch.zeros(3, requires_grad=True)  # one output per quantile
    opt = torch.optim.Adam([theta], lr=0.02)
    for _ in range(500):
        opt.zero_grad()
        loss_fn(theta.expand(2000, 8, 3), target).backward()
        opt.step()
    torch.testing.assert_close(theta.detach(), torch.tensor([-Z09, 0.0, Z09]), atol=0.05, rtol=0)
    fresh = torch.randn(4000, 50, generator=gen(9))
    pred = theta.detach().expand(4000, 50, 3)
    cov = coverage(pred, fresh, quantiles)
    assert list(cov) == list(quantiles)
    for q in quantiles:
        assert cov[q] == pytest.approx(q, abs=0.02)
    assert interval_coverage(pred, fresh) == pytest.approx(0.8, abs=0.02)


def test_quantile_loss_is_mean_pinball_over_quantiles() -> None:
    pred, target = torch.randn(5, 4, 3, generator=gen(10)), torch.randn(5, 4, generator=gen(11))
    expected = sum(pinball(pred[..., i], target, q) for i, q in enumerate((0.1, 0.5, 0.9))) / 3
    torch.testing.assert_close(QuantileLoss()(pred, target), expected)


def test_quantile_single_output_raises() -> None:
    with pytest.raises(ParamsError, match=r"one output per quantile.*\(B, H, Q\) = \(5, 4, 3\).*got \(5, 4\)"):
        QuantileLoss()(torch.zeros(5, 4), torch.zeros(5, 4))
    with pytest.raises(ParamsError, match=r"pred shape \(5, 4, 2\) does not match.*expected \(5, 4, 3\)"):
        QuantileLoss()(torch.zeros(5, 4, 2), torch.zeros(5, 4))


def test_sort_quantiles_and_small_coverage() -> None:
    pred = torch.tensor([[[0.5, -1.0, 2.0], [3.0, 1.0, 2.0]]])
    ordered = sort_quantiles(pred)
    assert bool((ordered.diff(dim=-1) >= 0).all())
    assert ordered.tolist() == [[[-1.0, 0.5, 2.0], [1.0, 2.0, 3.0]]]
    target = torch.tensor([[0.0, 2.5]])
    assert coverage(ordered, target, (0.1, 0.5, 0.9)) == {0.1: 0.0, 0.5: 0.5, 0.9: 1.0}
    assert interval_coverage(ordered, target) == 1.0
    assert interval_coverage(ordered, torch.tensor([[5.0, 2.5]])) == 0.5


# ---------------------------------------------------------------- Sharpe loss


def returns(n: int, seed: int, scale: float = 0.01) -> torch.Tensor:
    return scale * torch.randn(n, 1, generator=gen(seed), dtype=torch.float64)


def test_sharpe_falls_as_positions_align_with_returns() -> None:
    r = returns(500, 12)
    loss = SharpeLoss()
    aligned, random, anti = loss(r, r), loss(returns(500, 13), r), loss(-r, r)
    assert aligned < random < anti
    assert aligned < -1.0 and anti > 1.0 and abs(float(random)) < 0.2


def test_sharpe_uses_targets_a_rising_forecast_is_not_rewarded() -> None:
    r = returns(500, 14)
    rising = torch.linspace(0.001, 0.05, 500, dtype=torch.float64).unsqueeze(1)  # old bug's minimiser
    loss = SharpeLoss()
    assert abs(float(loss(rising, r))) < 0.2  # ~zero Sharpe: the targets are independent of it
    assert loss(rising, r) > loss(r, r) + 0.5  # aligned: about -1
    assert loss(rising, r) != loss(rising, returns(500, 15))


def test_sharpe_turnover_cost_penalises_alternating_positions() -> None:
    r = returns(200, 16)
    alternating = 0.05 * torch.tensor([1.0, -1.0], dtype=torch.float64).repeat(100).unsqueeze(1)
    assert SharpeLoss(cost=0.001)(alternating, r) > SharpeLoss(cost=0.0)(alternating, r)
    constant = torch.full((200, 1), 0.05, dtype=torch.float64)  # no turnover; first row pays none
    torch.testing.assert_close(SharpeLoss(cost=0.01)(constant, r), SharpeLoss(cost=0.0)(constant, r))
    s = SharpeLoss(cost=0.01).strategy_returns(alternating, r)
    p = torch.tanh(torch.tensor(5.0, dtype=torch.float64))
    torch.testing.assert_close(s[0], p * r[0, 0])
    torch.testing.assert_close(s[1], -p * r[1, 0] - 0.01 * 2 * p)


def test_sharpe_sgd_step_improves_alignment() -> None:
    r = returns(300, 17)
    pred = returns(300, 18)
    loss = SharpeLoss()
    before, after, stepped = sgd_step(loss, pred, r, lr=1e-3)
    assert after < before
    align = lambda p: float((torch.tanh(100 * p[:, 0]) * r[:, 0]).mean())  # noqa: E731
    assert align(stepped) > align(pred)


def test_sharpe_with_prices_equals_sharpe_on_returns() -> None:
    last = 100.0 + 10 * torch.rand(50, generator=gen(19), dtype=torch.float64)
    fr, rr = returns(50, 20), returns(50, 21)
    pred = torch.cat([last[:, None] * (1 + fr), last[:, None] * 1.1], dim=1)  # H = 2, step 0 is used
    target = torch.cat([last[:, None] * (1 + rr), last[:, None] * 0.9], dim=1)
    loss = SharpeLoss(cost=0.001)
    torch.testing.assert_close(loss(pred, target, last), loss(fr, rr))


# ---------------------------------------------------------------- trading loss


def test_trading_direction_term_has_gradient_where_sign_has_none() -> None:
    pred = torch.tensor([[-0.004], [0.003], [-0.002]], requires_grad=True)
    target = torch.tensor([[0.01], [0.02], [-0.01]])
    TradingLoss(error_weight=0.0)(pred, target).backward()
    assert pred.grad is not None and bool((pred.grad != 0).all())
    p = pred.detach().clone().requires_grad_(True)
    torch.sign(p).sum().backward()
    assert bool((p.grad == 0).all())  # what the old sign()-based term gave
    before, after, stepped = sgd_step(TradingLoss(error_weight=0.0), pred.detach(), target, lr=0.1)
    assert after < before and stepped[0, 0] > pred[0, 0]  # the wrong-direction forecast moves up


def test_trading_prefers_correct_direction_at_equal_error() -> None:
    target = torch.full((4, 1), 0.002)
    right, wrong = torch.full((4, 1), 0.012), torch.full((4, 1), -0.008)  # both 0.01 away
    loss = TradingLoss()
    assert F.l1_loss(right, target) == pytest.approx(float(F.l1_loss(wrong, target)))
    assert loss(right, target) < loss(wrong, target)
    assert TradingLoss(direction_weight=0.0)(right, target).item() == pytest.approx(0.01, rel=1e-4)


def test_trading_error_term_and_cost() -> None:
    target = torch.full((4, 2), 0.01)
    pred = torch.full((4, 2), 0.03)
    mse = TradingLoss(error="mse", direction_weight=0.0)(pred, target)
    assert mse.item() == pytest.approx(0.02 ** 2, rel=1e-4)
    alternating = 0.05 * torch.tensor([[1.0], [-1.0], [1.0], [-1.0]])
    r = torch.full((4, 1), 0.01)
    assert TradingLoss(cost=0.001)(alternating, r) > TradingLoss()(alternating, r)
    before, after, stepped = sgd_step(TradingLoss(direction_weight=0.0), pred, target, lr=0.01)
    assert after < before and bool((stepped < pred).all())


def test_trading_with_prices_uses_returns() -> None:
    last = torch.tensor([100.0, 200.0])
    pred, target = torch.tensor([[101.0, 102.0], [198.0, 196.0]]), torch.tensor([[102.0, 101.0], [202.0, 204.0]])
    loss = TradingLoss(k=50.0)
    expected = loss(pred / last[:, None] - 1, target / last[:, None] - 1)
    torch.testing.assert_close(loss(pred, target, last), expected)


# ---------------------------------------------------------------- robust loss


def test_robust_delta_is_75th_percentile_and_matches_huber() -> None:
    target = torch.zeros(1, 5)
    pred = torch.tensor([[0.0, -1.0, 2.0, -3.0, 4.0]])  # |errors| 0..4, 75th percentile = 3
    loss = RobustLoss()
    assert loss.delta(pred, target) == pytest.approx(3.0)
    torch.testing.assert_close(loss(pred, target), F.huber_loss(pred, target, delta=3.0))
    assert loss.delta(target, target) == pytest.approx(1e-6)  # floor keeps delta > 0
    assert loss(target, target).item() == 0.0


def test_robust_delta_is_detached() -> None:
    pred = torch.tensor([[0.0, -1.0, 2.0, -3.0, 4.0]], requires_grad=True)
    RobustLoss()(pred, torch.zeros(1, 5)).backward()
    fixed = pred.detach().clone().requires_grad_(True)
    F.huber_loss(fixed, torch.zeros(1, 5), delta=3.0).backward()
    torch.testing.assert_close(pred.grad, fixed.grad)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(("name", "params", "match"), [
    ("NOPE", {}, r"unknown loss 'NOPE'; valid names: MSE, MAE, MAPE, ASYMMETRIC, QUANTILE, SHARPE_LOSS"),
    ("MSE", {"q": 0.5}, r"MSE takes no parameter\(s\) \['q'\]"),
    ("ASYMMETRIC", {"quantile": 0.5}, r"takes no parameter\(s\) \['quantile'\]; it takes \['q'\]"),
    ("ASYMMETRIC", {"q": 1.0}, r"quantile 1.0 is outside \(0, 1\)"),
    ("ASYMMETRIC", {"q": 0.0}, r"quantile 0.0 is outside \(0, 1\)"),
    ("QUANTILE", {"quantiles": []}, r"quantiles=\[\] is empty"),
    ("QUANTILE", {"quantiles": (0.9, 0.1)}, r"quantiles=\[0.9, 0.1\] must be strictly increasing; use \[0.1, 0.9\]"),
    ("QUANTILE", {"quantiles": (0.1, 0.1)}, r"must be strictly increasing"),
    ("QUANTILE", {"quantiles": (0.1, 1.5)}, r"quantile 1.5 is outside \(0, 1\)"),
    ("SHARPE_LOSS", {"cost": -0.1}, r"cost=-0.1 must be >= 0"),
    ("SHARPE_LOSS", {"k": 0}, r"k=0 must be > 0"),
    ("SHARPE_LOSS", {"eps": 0}, r"eps=0 must be > 0"),
    ("TRADING_LOSS", {"k": -1.0}, r"k=-1.0 must be > 0"),
    ("TRADING_LOSS", {"cost": -1}, r"cost=-1 must be >= 0"),
    ("TRADING_LOSS", {"error": "huber"}, r"error='huber' is not one of 'mse', 'mae'"),
    ("TRADING_LOSS", {"direction_weight": -1}, r"direction_weight=-1 must be >= 0"),
    ("TRADING_LOSS", {"power": -1}, r"power=-1 must be >= 0"),
    ("MAPE", {"eps": -1e-3}, r"eps=-0.001 must be > 0"),
    ("ROBUST", {"percentile": 75}, r"percentile=75 must be in \(0, 1\]"),
    ("ROBUST", {"floor": 0.0}, r"floor=0.0 must be > 0"),
])
def test_bad_names_and_params_raise(name: str, params: dict, match: str) -> None:
    with pytest.raises(ParamsError, match=match):
        build_loss(name, **params)


def test_bad_shapes_and_prices_raise() -> None:
    with pytest.raises(ParamsError, match=r"pred shape \(2, 3\) differs from target shape \(2, 4\)"):
        build_loss("MSE")(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ParamsError, match=r"must be \(B, H\) with B >= 2 windows in time order"):
        SharpeLoss()(torch.zeros(1, 3), torch.zeros(1, 3))
    with pytest.raises(ParamsError, match=r"last shape \(3,\) must be \(B,\) = \(2,\)"):
        TradingLoss()(torch.ones(2, 3), torch.ones(2, 3), torch.ones(3))
    with pytest.raises(ParamsError, match=r"last holds a price <= 0 \(min -1.0\); pass raw positive prices"):
        SharpeLoss()(torch.ones(2, 3), torch.ones(2, 3), torch.tensor([1.0, -1.0]))


# ---------------------------------------------------------------- properties (hypothesis)

values = st.floats(-1e3, 1e3, allow_nan=False).map(lambda x: round(x, 6))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(values, values), min_size=1, max_size=20), st.floats(0.01, 0.99))
def test_pinball_nonnegative_and_zero_iff_equal(pairs: list[tuple[float, float]], q: float) -> None:
    pred = torch.tensor([p for p, _ in pairs], dtype=torch.float64)
    target = torch.tensor([t for _, t in pairs], dtype=torch.float64)
    loss = float(pinball(pred, target, q))
    assert loss >= 0
    assert (loss == 0) == torch.equal(pred, target)
    assert float(pinball(target, target, q)) == 0


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.01, 100.0))
def test_sharpe_invariant_to_positive_scaling_of_returns(seed: int, scale: float) -> None:
    pred, r = returns(64, seed), returns(64, seed + 1)
    loss = SharpeLoss(eps=1e-12)
    assert float(loss(pred, scale * r)) == pytest.approx(float(loss(pred, r)), rel=1e-6, abs=1e-9)

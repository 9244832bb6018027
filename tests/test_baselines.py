"""Baselines: exact values on hand-made inputs, shapes, channel independence, training, errors."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from torch import nn

from cryptexlab.errors import ParamsError
from cryptexlab.models.baselines import (
    BASELINES,
    DLinear,
    Drift,
    LinearForecaster,
    RandomWalk,
    SeasonalNaive,
    build_baseline,
    decompose,
)


def series(*values: float) -> torch.Tensor:
    """One window of one channel: shape (1, len(values), 1)."""
    return torch.tensor(values, dtype=torch.float32).view(1, -1, 1)


def all_models(seq_len: int = 16, pred_len: int = 5, channels: int = 3) -> list[nn.Module]:
    torch.manual_seed(0)
    return [RandomWalk(pred_len), Drift(pred_len), SeasonalNaive(pred_len, season=4),
            DLinear(seq_len, pred_len, kernel_size=5),
            DLinear(seq_len, pred_len, kernel_size=5, individual=True, channels=channels),
            LinearForecaster(seq_len, pred_len)]


def lines(n: int, seq_len: int, pred_len: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Noiseless straight lines a + b t: inputs (n, seq_len, 1) and targets (n, pred_len, 1)."""
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(n, 1, generator=g), 0.2 * torch.randn(n, 1, generator=g)
    t = torch.arange(seq_len + pred_len, dtype=torch.float32)
    y = (a + b * (t - seq_len / 2)).unsqueeze(-1)
    return y[:, :seq_len], y[:, seq_len:]


# --- exact values ---------------------------------------------------------------------------

def test_random_walk_repeats_last_value() -> None:
    assert RandomWalk(3)(series(0, 1, 2, 3, 4, 5)).flatten().tolist() == [5.0, 5.0, 5.0]
    x = torch.arange(12.0).view(2, 3, 2)  # batch 0 ends at (4, 5), batch 1 at (10, 11)
    out = RandomWalk(2)(x)
    assert out.tolist() == [[[4.0, 5.0], [4.0, 5.0]], [[10.0, 11.0], [10.0, 11.0]]]


def test_random_walk_in_returns_is_constant_zero_return() -> None:
    out = RandomWalk(4, return_zero=-0.25)(torch.randn(3, 10, 2))
    assert out.shape == (3, 4, 2) and torch.all(out == -0.25)
    assert torch.all(RandomWalk(2, return_zero=0)(torch.randn(1, 5, 1)) == 0.0)


def test_drift_extends_first_to_last_line() -> None:
    assert Drift(3)(series(0, 2, 4, 6, 8)).flatten().tolist() == [10.0, 12.0, 14.0]
    # Only first and last matter: slope (4 - 0) / 2 = 2 from 4.
    assert Drift(2)(series(0, 1, 4)).flatten().tolist() == [6.0, 8.0]
    assert Drift(2)(series(3, -1, 3)).flatten().tolist() == [3.0, 3.0]


def test_seasonal_naive_repeats_last_season_beyond_one_season() -> None:
    x = series(10, 11, 12, 13, 14, 15)
    out = SeasonalNaive(9, season=4)(x).flatten().tolist()
    assert out == [12.0, 13.0, 14.0, 15.0, 12.0, 13.0, 14.0, 15.0, 12.0]
    t, s = 5, 4  # the formula y[t+h] = y[t + h - s * ceil(h / s)], t = last index
    assert out == [x[0, t + h - s * math.ceil(h / s), 0].item() for h in range(1, 10)]
    assert SeasonalNaive(2, season=6)(x).flatten().tolist() == [10.0, 11.0]  # seq_len == season


def test_moving_average_with_replicate_padding() -> None:
    x = series(0, 3, 6, 0, 9)
    seasonal, trend = decompose(x, 3)  # padded: 0 | 0 3 6 0 9 | 9
    torch.testing.assert_close(trend.flatten(), torch.tensor([1.0, 3.0, 3.0, 5.0, 6.0]))
    torch.testing.assert_close(seasonal + trend, x)
    _, trend5 = decompose(x, 5)  # padded: 0 0 | 0 3 6 0 9 | 9 9
    torch.testing.assert_close(trend5.flatten(), torch.tensor([9, 9, 18, 27, 33]) / 5.0)
    _, trend1 = decompose(x, 1)
    torch.testing.assert_close(trend1, x)


def test_decomposition_sums_to_input_and_keeps_length() -> None:
    x = torch.randn(4, 16, 3)
    seasonal, trend = decompose(x, 7)
    assert seasonal.shape == trend.shape == x.shape
    torch.testing.assert_close(seasonal + trend, x)
    # Channel c's trend is the moving average of channel c alone.
    _, alone = decompose(x[:, :, 1:2], 7)
    torch.testing.assert_close(trend[:, :, 1:2], alone)


def test_linear_forecaster_starts_as_random_walk() -> None:
    x = torch.randn(3, 16, 2)
    torch.testing.assert_close(LinearForecaster(16, 4)(x), RandomWalk(4)(x))


# --- shapes, parameters, channel independence -----------------------------------------------

@pytest.mark.parametrize("model", all_models(), ids=lambda m: m.name + ("-individual" * getattr(m, "individual", 0)))
def test_shapes_and_channel_independence(model: nn.Module) -> None:
    torch.manual_seed(1)
    x = torch.randn(4, 16, 3)
    out = model(x)
    assert out.shape == (4, 5, 3) and out.dtype == x.dtype
    changed = x.clone()
    changed[:, :, 1] += torch.randn(4, 16)
    out2 = model(changed)
    torch.testing.assert_close(out2[..., 0], out[..., 0], rtol=0, atol=0)
    torch.testing.assert_close(out2[..., 2], out[..., 2], rtol=0, atol=0)
    assert not torch.equal(out2[..., 1], out[..., 1])


def test_float64_input_keeps_dtype() -> None:
    x = torch.randn(2, 16, 3, dtype=torch.float64)
    for model in all_models():
        assert model.to(torch.float64)(x).dtype == torch.float64


def test_trainable_flags_and_parameters() -> None:
    for cls in (RandomWalk, Drift, SeasonalNaive):
        assert cls.trainable is False
        assert list(cls(3).parameters()) == []
    assert DLinear.trainable is True and LinearForecaster.trainable is True
    assert sum(p.numel() for p in DLinear(16, 4, kernel_size=5).parameters()) == 2 * (16 * 4 + 4)
    assert sum(p.numel() for p in DLinear(16, 4, 5, individual=True, channels=3).parameters()) == 3 * 2 * (16 * 4 + 4)
    assert sum(p.numel() for p in LinearForecaster(16, 4).parameters()) == 16 * 4 + 4


# --- training -------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda: DLinear(16, 4, kernel_size=5), lambda: LinearForecaster(16, 4)],
                         ids=["dlinear", "linear"])
def test_fits_noiseless_linear_trend(make: Callable[[], nn.Module]) -> None:
    torch.manual_seed(0)
    model = make()
    x, y = lines(128, 16, 4, seed=0)
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    model.zero_grad()
    start = loss.item()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):  # reaches ~1e-9 by step 200
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    x_test, y_test = lines(64, 16, 4, seed=1)
    with torch.no_grad():
        test_loss = nn.functional.mse_loss(model(x_test), y_test).item()
    assert loss.item() < 1e-4 < start and test_loss < 1e-4


# --- registry -------------------------------------------------------------------------------

def test_registry_names_and_build() -> None:
    assert list(BASELINES) == ["random_walk", "drift", "seasonal_naive", "dlinear", "linear"]
    for name, factory in BASELINES.items():
        model = build_baseline(name, seq_len=32, pred_len=6, channels=2)
        assert isinstance(model, factory) and model.name == name
        assert model(torch.randn(2, 32, 2)).shape == (2, 6, 2)
    assert build_baseline("seasonal_naive", 32, 6, season=8).season == 8
    assert build_baseline("random_walk", 32, 6, return_zero=0.5).return_zero == 0.5
    dl = build_baseline("dlinear", 32, 6, channels=3, kernel_size=7, individual=True)
    assert (dl.seq_len, dl.kernel_size, dl.channels, len(dl.trend)) == (32, 7, 3, 3)


# --- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("build, match", [
    (lambda: RandomWalk(0), r"RandomWalk: pred_len=0 must be a positive integer"),
    (lambda: Drift(-2), r"Drift: pred_len=-2 must be a positive integer"),
    (lambda: SeasonalNaive(3, season=0), r"SeasonalNaive: season=0 must be a positive integer"),
    (lambda: LinearForecaster(1.5, 2), r"LinearForecaster: seq_len=1.5 must be a positive integer"),
    (lambda: DLinear(16, True), r"DLinear: pred_len=True must be a positive integer"),
    (lambda: DLinear(16, 4, kernel_size=5, channels=0), r"DLinear: channels=0 must be a positive integer"),
    (lambda: RandomWalk(3, return_zero="0"), r"return_zero='0' must be a number"),
    (lambda: DLinear(16, 4, kernel_size=4), r"kernel_size=4 must be odd.*use kernel_size=3 or 5"),
    (lambda: DLinear(16, 4, kernel_size=25), r"kernel_size=25 is longer than seq_len=16.*<= 16"),
    (lambda: DLinear(16, 4, kernel_size=5, individual=1), r"individual=1 must be true or false"),
    (lambda: build_baseline("arima", 16, 4), r"no baseline 'arima'; valid names: random_walk, drift, "
                                             r"seasonal_naive, dlinear, linear"),
    (lambda: build_baseline("dlinear", 16, 4, season=4), r"'dlinear' takes no parameter\(s\) \['season'\]; "
                                                         r"it takes \['kernel_size', 'individual'\]"),
    (lambda: build_baseline("drift", 16, 4, season=4), r"'drift' takes no parameter\(s\) \['season'\]; it takes none"),
])
def test_construction_errors(build: Callable[[], object], match: str) -> None:
    with pytest.raises(ParamsError, match=match):
        build()


@pytest.mark.parametrize("model, x, match", [
    (SeasonalNaive(4, season=24), torch.randn(2, 12, 1), r"seq_len=12 is shorter than season=24.*seq_len >= 24"),
    (Drift(3), torch.randn(2, 1, 1), r"Drift: seq_len=1 is below 2"),
    (RandomWalk(3), torch.randn(2, 12), r"RandomWalk: input of shape \(2, 12\) must be 3-D.*unsqueeze"),
    (DLinear(16, 4, kernel_size=5), torch.randn(2, 12, 1), r"input has seq_len=12 but the model was built for "
                                                           r"seq_len=16"),
    (LinearForecaster(16, 4), torch.randn(2, 8, 1), r"LinearForecaster: input has seq_len=8.*seq_len=16"),
    (DLinear(16, 4, 5, individual=True, channels=3), torch.randn(2, 16, 2), r"input has 2 channels but "
                                                                             r"individual=True.*channels=3"),
])
def test_forward_errors(model: nn.Module, x: torch.Tensor, match: str) -> None:
    with pytest.raises(ParamsError, match=match):
        model(x)


def test_decompose_errors_and_error_type() -> None:
    with pytest.raises(ParamsError, match=r"kernel_size=4 must be odd and at most seq_len=8"):
        decompose(torch.randn(1, 8, 1), 4)
    with pytest.raises(ParamsError, match=r"kernel_size=9 must be odd and at most seq_len=8.*<= 8"):
        decompose(torch.randn(1, 8, 1), 9)
    with pytest.raises(ValueError):  # ParamsError is a ValueError too
        RandomWalk(0)

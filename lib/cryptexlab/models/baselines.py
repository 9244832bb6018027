"""Baseline forecasters: random walk, drift, seasonal naive, DLinear and a plain linear map.

Every forecaster in this project is a ``torch.nn.Module`` whose ``forward(x)`` takes ``x`` of
shape (batch, seq_len, channels) of standardised values and returns (batch, pred_len, channels):
a forecast for every channel, each channel forecast from its own history only (channel
independence). The first three baselines have no parameters (``trainable = False``); DLinear
and :class:`LinearForecaster` are trained like any other model (``trainable = True``).

Example:
    >>> import torch
    >>> x = torch.arange(8.0).reshape(1, 8, 1)
    >>> build_baseline("random_walk", seq_len=8, pred_len=3)(x).flatten().tolist()
    [7.0, 7.0, 7.0]
    >>> build_baseline("drift", seq_len=8, pred_len=3)(x).flatten().tolist()
    [8.0, 9.0, 10.0]
    >>> build_baseline("dlinear", seq_len=8, pred_len=3, kernel_size=3)(x).shape
    torch.Size([1, 3, 1])
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from cryptexlab.errors import ParamsError


def _positive_int(owner: str, name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ParamsError(f"{owner}: {name}={value!r} must be a positive integer (1, 2, ...); "
                          f"pass e.g. {name}=24")
    return value


def _check_x(owner: str, x: torch.Tensor, seq_len: int | None = None) -> None:
    if x.ndim != 3:
        raise ParamsError(f"{owner}: input of shape {tuple(x.shape)} must be 3-D (batch, seq_len, channels); "
                          "add a channel axis with x.unsqueeze(-1)")
    if seq_len is not None and x.shape[1] != seq_len:
        raise ParamsError(f"{owner}: input has seq_len={x.shape[1]} but the model was built for "
                          f"seq_len={seq_len}; build it with seq_len={x.shape[1]} or cut the windows")


class RandomWalk(nn.Module):
    """Repeat each channel's last observed value ``pred_len`` times (no parameters).

    With ``return_zero`` the channels are returns, and the forecast is the constant
    ``return_zero``: the standardised value of a zero return, ``(0 - mean) / std``. A random walk
    in prices is a zero-return forecast, so this is the same baseline stated in returns.

    Example:
        >>> RandomWalk(2)(torch.tensor([[[1.0, 5.0], [2.0, 6.0]]])).tolist()
        [[[2.0, 6.0], [2.0, 6.0]]]
        >>> RandomWalk(2, return_zero=-0.5)(torch.ones(1, 4, 1)).flatten().tolist()
        [-0.5, -0.5]
    """

    name = "random_walk"
    trainable = False

    def __init__(self, pred_len: int, return_zero: float | None = None) -> None:
        super().__init__()
        self.pred_len = _positive_int("RandomWalk", "pred_len", pred_len)
        if return_zero is not None and (isinstance(return_zero, bool) or not isinstance(return_zero, numbers.Real)):
            raise ParamsError(f"RandomWalk: return_zero={return_zero!r} must be a number (the standardised "
                              "value of a zero return) or None for a random walk in levels")
        self.return_zero = None if return_zero is None else float(return_zero)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_x("RandomWalk", x)
        if self.return_zero is not None:
            return x.new_full((x.shape[0], self.pred_len, x.shape[2]), self.return_zero)
        return x[:, -1:, :].repeat(1, self.pred_len, 1)


class Drift(nn.Module):
    """Extend the line through the first and last value: ``last + h * (last - first) / (seq_len - 1)``.

    Example:
        >>> Drift(2)(torch.tensor([[[0.0], [1.0], [4.0]]])).flatten().tolist()
        [6.0, 8.0]
    """

    name = "drift"
    trainable = False

    def __init__(self, pred_len: int) -> None:
        super().__init__()
        self.pred_len = _positive_int("Drift", "pred_len", pred_len)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_x("Drift", x)
        if x.shape[1] < 2:
            raise ParamsError(f"Drift: seq_len={x.shape[1]} is below 2, so there is no slope to extend; "
                              "use windows of at least 2 steps or the random walk")
        slope = (x[:, -1:, :] - x[:, :1, :]) / (x.shape[1] - 1)
        h = torch.arange(1, self.pred_len + 1, dtype=x.dtype, device=x.device).view(1, -1, 1)
        return x[:, -1:, :] + h * slope


class SeasonalNaive(nn.Module):
    """Repeat the last full season: ``y[t+h] = y[t + h - season * ceil(h / season)]``.

    Example:
        >>> SeasonalNaive(5, season=2)(torch.arange(4.0).view(1, 4, 1)).flatten().tolist()
        [2.0, 3.0, 2.0, 3.0, 2.0]
    """

    name = "seasonal_naive"
    trainable = False

    def __init__(self, pred_len: int, season: int = 24) -> None:
        super().__init__()
        self.pred_len = _positive_int("SeasonalNaive", "pred_len", pred_len)
        self.season = _positive_int("SeasonalNaive", "season", season)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_x("SeasonalNaive", x)
        if x.shape[1] < self.season:
            raise ParamsError(f"SeasonalNaive: seq_len={x.shape[1]} is shorter than season={self.season}, so "
                              f"there is no full season to repeat; use seq_len >= {self.season} or a shorter season")
        idx = torch.arange(self.pred_len, device=x.device) % self.season
        return x[:, -self.season:, :][:, idx, :]


def decompose(x: torch.Tensor, kernel_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Split (B, L, N) windows into ``(seasonal, trend)``, with ``seasonal + trend == x``.

    The trend is a centred moving average of odd ``kernel_size``; each window is padded at both
    ends by repeating its first and last value, so the trend has length L and uses only values
    inside the window (no look-ahead past its end).

    Example:
        >>> seasonal, trend = decompose(torch.tensor([[[0.0], [3.0], [6.0], [0.0]]]), 3)
        >>> trend.flatten().tolist(), seasonal.flatten().tolist()
        ([1.0, 3.0, 3.0, 2.0], [-1.0, 0.0, 3.0, -2.0])
    """
    _check_x("decompose", x)
    k = _positive_int("decompose", "kernel_size", kernel_size)
    if k % 2 == 0 or k > x.shape[1]:
        raise ParamsError(f"decompose: kernel_size={k} must be odd and at most seq_len={x.shape[1]}, so the "
                          f"centred average keeps seq_len steps; use an odd kernel_size <= {x.shape[1]}")
    pad = (k - 1) // 2
    padded = torch.cat([x[:, :1, :].repeat(1, pad, 1), x, x[:, -1:, :].repeat(1, pad, 1)], dim=1)
    trend = F.avg_pool1d(padded.transpose(1, 2), kernel_size=k, stride=1).transpose(1, 2)
    return x - trend, trend


class DLinear(nn.Module):
    """DLinear (Zeng et al., "Are Transformers Effective for Time Series Forecasting?", AAAI 2023).

    Each window is split by :func:`decompose` into a moving-average trend and a seasonal
    remainder; one ``Linear(seq_len -> pred_len)`` maps each part along time, and the forecast is
    their sum. The layers are shared by all channels, or with ``individual=True`` there is one
    pair per channel (then the input must have exactly ``channels`` channels).

    Example:
        >>> DLinear(8, 3, kernel_size=3, individual=True, channels=2)(torch.randn(4, 8, 2)).shape
        torch.Size([4, 3, 2])
    """

    name = "dlinear"
    trainable = True

    def __init__(self, seq_len: int, pred_len: int, kernel_size: int = 25, individual: bool = False,
                 channels: int = 1) -> None:
        super().__init__()
        self.seq_len = _positive_int("DLinear", "seq_len", seq_len)
        self.pred_len = _positive_int("DLinear", "pred_len", pred_len)
        self.kernel_size = _positive_int("DLinear", "kernel_size", kernel_size)
        self.channels = _positive_int("DLinear", "channels", channels)
        if kernel_size % 2 == 0:
            raise ParamsError(f"DLinear: kernel_size={kernel_size} must be odd so the moving average is centred "
                              f"and keeps seq_len steps; use kernel_size={kernel_size - 1} or {kernel_size + 1}")
        if kernel_size > seq_len:
            raise ParamsError(f"DLinear: kernel_size={kernel_size} is longer than seq_len={seq_len}; use an odd "
                              f"kernel_size <= {seq_len}")
        if not isinstance(individual, bool):
            raise ParamsError(f"DLinear: individual={individual!r} must be true or false")
        self.individual = individual
        n = channels if individual else 1
        self.seasonal = nn.ModuleList(nn.Linear(seq_len, pred_len) for _ in range(n))
        self.trend = nn.ModuleList(nn.Linear(seq_len, pred_len) for _ in range(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_x("DLinear", x, self.seq_len)
        if self.individual and x.shape[2] != self.channels:
            raise ParamsError(f"DLinear: input has {x.shape[2]} channels but individual=True was built for "
                              f"channels={self.channels}; build it with channels={x.shape[2]}")
        seasonal, trend = (p.transpose(1, 2) for p in decompose(x, self.kernel_size))  # (B, N, L)
        if not self.individual:
            return (self.seasonal[0](seasonal) + self.trend[0](trend)).transpose(1, 2)
        out = [self.seasonal[c](seasonal[:, c]) + self.trend[c](trend[:, c]) for c in range(self.channels)]
        return torch.stack(out, dim=2)


class LinearForecaster(nn.Module):
    """One ``Linear(seq_len -> pred_len)`` along time, shared by all channels (NLinear-style).

    The last value is subtracted before the layer and added back after it, so the layer learns
    the change from the last value. Its weights and bias start at zero, so the untrained model
    is exactly the random walk, and training can only move it away where that pays.

    Example:
        >>> LinearForecaster(4, 2)(torch.arange(4.0).view(1, 4, 1)).flatten().tolist()
        [3.0, 3.0]
    """

    name = "linear"
    trainable = True
    anchored = True  # persistence-anchored by construction, whatever model.output says

    def __init__(self, seq_len: int, pred_len: int) -> None:
        super().__init__()
        self.seq_len = _positive_int("LinearForecaster", "seq_len", seq_len)
        self.pred_len = _positive_int("LinearForecaster", "pred_len", pred_len)
        self.linear = nn.Linear(seq_len, pred_len)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_x("LinearForecaster", x, self.seq_len)
        last = x[:, -1:, :]
        return self.linear((x - last).transpose(1, 2)).transpose(1, 2) + last


BASELINES: dict[str, Callable[..., nn.Module]] = {
    cls.name: cls for cls in (RandomWalk, Drift, SeasonalNaive, DLinear, LinearForecaster)
}


def build_baseline(name: str, seq_len: int, pred_len: int, channels: int = 1, **params: object) -> nn.Module:
    """Build the baseline called ``name``; ``seq_len`` and ``channels`` go to it where it takes them.

    Raises:
        ParamsError: an unknown name, or a parameter the baseline does not take (listing the
            valid ones), or a bad value.

    Example:
        >>> build_baseline("seasonal_naive", seq_len=96, pred_len=24, season=24).season
        24
    """
    if name not in BASELINES:
        raise ParamsError(f"no baseline {name!r}; valid names: {', '.join(BASELINES)}")
    factory = BASELINES[name]
    accepted = [p for p in inspect.signature(factory).parameters if p != "self"]
    fixed = {"seq_len": seq_len, "pred_len": pred_len, "channels": channels}
    unknown = sorted(set(params) - (set(accepted) - set(fixed)))
    if unknown:
        extra = [p for p in accepted if p not in fixed]
        raise ParamsError(f"baseline {name!r} takes no parameter(s) {unknown}; "
                          f"it takes {extra or 'none besides seq_len, pred_len, channels'}")
    return factory(**{k: v for k, v in fixed.items() if k in accepted}, **params)

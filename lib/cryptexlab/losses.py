"""Loss functions of the forecaster: error losses, quantile regression and trading losses.

Every loss is an ``nn.Module`` called as ``loss(pred, target, last=None)`` on forecasts and targets
of shape (B, H) (B windows, H horizon steps); QUANTILE takes predictions (B, H, Q), one output per
quantile. ``name`` is the factory name. ``needs_prices`` is True for SHARPE_LOSS and TRADING_LOSS:
they turn forecasts into trading positions, so the caller must pass raw-unit prices together with
``last`` (the last observed price of each window, shape (B,)), or returns with ``last=None`` -- never
standardised values. The pure error losses accept ``last`` and ignore it, so a training loop calls
every loss the same way.

Names: MSE, MAE, MAPE, ASYMMETRIC (pinball at q=0.7), QUANTILE, SHARPE_LOSS, TRADING_LOSS and
ROBUST (Huber with an adaptive delta). Build one by name with :func:`build_loss`.

Example:
    >>> import torch
    >>> loss = build_loss("asymmetric")
    >>> round(loss(torch.zeros(2, 3), torch.ones(2, 3)).item(), 3)
    0.7
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from itertools import pairwise
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cryptexlab.errors import ParamsError


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ParamsError(message)


def _check_q(q: float, loss: str) -> None:
    _require(0.0 < q < 1.0, f"{loss}: quantile {q} is outside (0, 1): a pinball loss forecasts a quantile "
                            "strictly between 0 and 1; use e.g. 0.1, 0.5 or 0.9")


def _check_positive(name: str, value: float, loss: str, hint: str) -> None:
    _require(value > 0, f"{loss}: {name}={value} must be > 0; {hint}")


def _same_shape(pred: Tensor, target: Tensor, loss: str) -> None:
    _require(pred.shape == target.shape, f"{loss}: pred shape {tuple(pred.shape)} differs from target shape "
                                         f"{tuple(target.shape)}; pass forecasts and targets of the same (B, H) shape")


def pinball(pred: Tensor, target: Tensor, q: float | Tensor) -> Tensor:
    """Mean pinball loss ``max(q * e, (q - 1) * e)``, ``e = target - pred``; minimised by the q-quantile.

    Under-forecasts cost q, over-forecasts 1 - q; ``q`` may be a tensor broadcasting against ``pred``.

    Example:
        >>> round(pinball(torch.zeros(4), torch.tensor([1.0, 1.0, -1.0, -1.0]), 0.7).item(), 3)
        0.5
    """
    e = target - pred
    return torch.maximum(q * e, (q - 1) * e).mean()


def sort_quantiles(pred: Tensor) -> Tensor:
    """Sort quantile forecasts along the last axis so that they never cross.

    Example:
        >>> sort_quantiles(torch.tensor([[0.5, -0.25, 0.0]])).tolist()
        [[-0.25, 0.0, 0.5]]
    """
    return torch.sort(pred, dim=-1).values


def coverage(pred: Tensor, target: Tensor, quantiles: Sequence[float]) -> dict[float, float]:
    """Share of targets (B, H) at or below each quantile's forecast in pred (B, H, Q); ideal: q itself.

    Example:
        >>> coverage(torch.tensor([[[0.0, 2.0]]]), torch.tensor([[1.0]]), (0.1, 0.9))
        {0.1: 0.0, 0.9: 1.0}
    """
    _check_quantile_shape(pred, target, tuple(quantiles), "coverage")
    below = (target.unsqueeze(-1) <= pred).float().reshape(-1, len(quantiles)).mean(dim=0)
    return {float(q): float(b) for q, b in zip(quantiles, below, strict=True)}


def interval_coverage(pred: Tensor, target: Tensor) -> float:
    """Share of targets inside ``[pred[..., 0], pred[..., -1]]``; nominal for (0.1, 0.5, 0.9): 0.8.

    Example:
        >>> interval_coverage(torch.tensor([[[0.0, 1.0, 2.0]]]), torch.tensor([[3.0]]))
        0.0
    """
    inside = (target >= pred[..., 0]) & (target <= pred[..., -1])
    return float(inside.float().mean())


def _check_quantile_shape(pred: Tensor, target: Tensor, quantiles: tuple[float, ...], loss: str) -> None:
    q = len(quantiles)
    _require(pred.dim() == target.dim() + 1,
             f"{loss}: quantile regression needs one output per quantile, pred of shape (B, H, Q) = "
             f"{(*target.shape, q)} for target {tuple(target.shape)}, got {tuple(pred.shape)}; a single "
             f"output for {q} quantiles would just fit their average (the old bug); give the model Q={q} outputs")
    _require(tuple(pred.shape) == (*target.shape, q),
             f"{loss}: pred shape {tuple(pred.shape)} does not match target {tuple(target.shape)} plus "
             f"Q={q} quantiles {quantiles}; expected {(*target.shape, q)}")


def _returns(pred: Tensor, target: Tensor, last: Tensor | None, loss: str) -> tuple[Tensor, Tensor]:
    """Forecast and realised returns (B, H): from prices relative to ``last``, or as given."""
    _same_shape(pred, target, loss)
    _require(pred.dim() == 2 and pred.shape[0] >= 2,
             f"{loss}: pred shape {tuple(pred.shape)} must be (B, H) with B >= 2 windows in time order; "
             "pass a batch of consecutive windows")
    if last is None:
        return pred, target
    _require(tuple(last.shape) == (pred.shape[0],),
             f"{loss}: last shape {tuple(last.shape)} must be (B,) = ({pred.shape[0]},), the last observed "
             "price of each window; pass last=None if pred and target are already returns")
    _require(bool((last > 0).all()), f"{loss}: last holds a price <= 0 (min {float(last.min())}); pass raw "
                                     "positive prices, not standardised values")
    base = last.unsqueeze(1)
    return pred / base - 1, target / base - 1


def _turnover(position: Tensor) -> Tensor:
    """|p_t - p_(t-1)| over consecutive rows; the first row has no previous position and costs 0."""
    return torch.cat([position.new_zeros(1), (position[1:] - position[:-1]).abs()])


class Loss(nn.Module):
    """Base class: ``forward(pred, target, last=None)``; ``last`` is ignored unless ``needs_prices``."""

    name: ClassVar[str] = ""
    needs_prices: ClassVar[bool] = False

    def forward(self, pred: Tensor, target: Tensor, last: Tensor | None = None) -> Tensor:
        _same_shape(pred, target, self.name)
        return self.error(pred, target)

    def error(self, pred: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError


class MSELoss(Loss):
    """Mean squared error."""

    name = "MSE"

    def error(self, pred: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(pred, target)


class MAELoss(Loss):
    """Mean absolute error (forecasts the median)."""

    name = "MAE"

    def error(self, pred: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(pred, target)


class MAPELoss(Loss):
    """Mean absolute percentage error as a fraction: mean(|pred - target| / max(|target|, eps)).

    Warning: on standardised or return targets the values sit near zero and MAPE explodes (up to
    |error| / eps); use it on raw positive prices only.
    """

    name = "MAPE"

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        _check_positive("eps", eps, self.name, "it guards the denominator; use e.g. 1e-8")
        self.eps = eps

    def error(self, pred: Tensor, target: Tensor) -> Tensor:
        return ((pred - target).abs() / target.abs().clamp_min(self.eps)).mean()


class AsymmetricLoss(Loss):
    """Pinball loss at quantile ``q`` (default 0.7): weights q / 1 - q on under / over-forecasts.

    It forecasts the q-quantile of the target, not its mean.
    """

    name = "ASYMMETRIC"

    def __init__(self, q: float = 0.7) -> None:
        super().__init__()
        _check_q(q, self.name)
        self.q = q

    def error(self, pred: Tensor, target: Tensor) -> Tensor:
        return pinball(pred, target, self.q)


class QuantileLoss(Loss):
    """Quantile regression: pred (B, H, Q), one output per quantile; the mean pinball over quantiles."""

    name = "QUANTILE"
    levels: Tensor  # the quantiles as a buffer (registered in __init__)

    def __init__(self, quantiles: Sequence[float] = (0.1, 0.5, 0.9)) -> None:
        super().__init__()
        qs = tuple(float(q) for q in quantiles)
        _require(len(qs) > 0, f"{self.name}: quantiles={list(quantiles)} is empty; give at least one, "
                              "e.g. (0.1, 0.5, 0.9)")
        for q in qs:
            _check_q(q, self.name)
        _require(all(a < b for a, b in pairwise(qs)),
                 f"{self.name}: quantiles={list(qs)} must be strictly increasing; use {sorted(set(qs))}")
        self.quantiles = qs
        self.register_buffer("levels", torch.tensor(qs), persistent=False)

    def forward(self, pred: Tensor, target: Tensor, last: Tensor | None = None) -> Tensor:
        _check_quantile_shape(pred, target, self.quantiles, self.name)
        return pinball(pred, target.unsqueeze(-1), self.levels.to(pred.dtype))


class SharpeLoss(Loss):
    """Negative Sharpe ratio of a strategy trading the forecast (Lim, Zohren & Roberts 2019).

    Position ``p = tanh(k * forecast return)`` of the first horizon step, strategy return
    ``s = p * realised return - cost * |p_t - p_(t-1)|``, loss ``-mean(s) / (std(s) + eps)``.
    The rows of the batch must be consecutive windows in time order (an unshuffled loader): the
    turnover term compares each row's position with the previous row's. The first row has no
    previous position and pays no turnover (the batch is a slice of a longer series).
    ``k`` scales returns into positions: with hourly returns of ~1%, k=100 maps 1% to tanh(1).
    """

    name = "SHARPE_LOSS"
    needs_prices = True

    def __init__(self, k: float = 100.0, cost: float = 0.0, eps: float = 1e-8) -> None:
        super().__init__()
        _check_positive("k", k, self.name, "it scales forecast returns into positions tanh(k * r); use e.g. 100")
        _require(cost >= 0, f"{self.name}: cost={cost} must be >= 0 (a share of the position traded, "
                            "e.g. 0.001 for 10 bp); use 0 for no trading cost")
        _check_positive("eps", eps, self.name, "it guards the std; use e.g. 1e-8")
        self.k, self.cost, self.eps = k, cost, eps

    def strategy_returns(self, pred: Tensor, target: Tensor, last: Tensor | None = None) -> Tensor:
        """Per-row strategy returns s (B,) after turnover cost."""
        forecast, realised = _returns(pred, target, last, self.name)
        position = torch.tanh(self.k * forecast[:, 0])
        return position * realised[:, 0] - self.cost * _turnover(position)

    def forward(self, pred: Tensor, target: Tensor, last: Tensor | None = None) -> Tensor:
        s = self.strategy_returns(pred, target, last)
        return -s.mean() / (s.std() + self.eps)


class TradingLoss(Loss):
    """Error + smooth direction + turnover cost, in return units (GMADL-style, Michankow et al. 2024).

    ``loss = error_weight * err + direction_weight * dir + cost * mean|p_t - p_(t-1)|`` where

    * ``err`` is the MSE or MAE (``error``) of the forecast returns over all H steps;
    * ``dir = mean(|r|^power * (1 - sign(r) * tanh(k * f)) / 2)`` on the first step's forecast f and
      realised return r: a smooth share of wrong directions weighted by the size of the move, zero
      when every direction is right with certainty; unlike sign() it has a gradient everywhere;
    * ``p = tanh(k * f)`` is the position; the turnover term needs rows in time order (as for
      SHARPE_LOSS) and charges the first row nothing.

    Defaults (error="mae", power=1, weights 1) keep the three terms in the same units as the returns.
    """

    name = "TRADING_LOSS"
    needs_prices = True

    def __init__(self, error: str = "mae", error_weight: float = 1.0, direction_weight: float = 1.0,
                 k: float = 100.0, power: float = 1.0, cost: float = 0.0) -> None:
        super().__init__()
        _require(error in ("mse", "mae"), f"{self.name}: error={error!r} is not one of 'mse', 'mae'; pick one")
        for label, w in (("error_weight", error_weight), ("direction_weight", direction_weight), ("power", power)):
            _require(w >= 0, f"{self.name}: {label}={w} must be >= 0; use 0 to switch the term off")
        _check_positive("k", k, self.name, "it is the slope of the smooth sign tanh(k * r); use e.g. 100")
        _require(cost >= 0, f"{self.name}: cost={cost} must be >= 0 (a share of the position traded, "
                            "e.g. 0.001 for 10 bp); use 0 for no trading cost")
        self.error_kind, self.error_weight, self.direction_weight = error, error_weight, direction_weight
        self.k, self.power, self.cost = k, power, cost

    def forward(self, pred: Tensor, target: Tensor, last: Tensor | None = None) -> Tensor:
        forecast, realised = _returns(pred, target, last, self.name)
        err = F.mse_loss(forecast, realised) if self.error_kind == "mse" else F.l1_loss(forecast, realised)
        position = torch.tanh(self.k * forecast[:, 0])
        r = realised[:, 0]
        direction = (r.abs() ** self.power * (1 - torch.sign(r) * position) / 2).mean()
        return self.error_weight * err + self.direction_weight * direction + self.cost * _turnover(position).mean()


class RobustLoss(Loss):
    """Huber loss whose delta is a percentile (default 75th) of the batch's absolute errors.

    The delta is detached (no gradient flows through it) and floored at ``floor`` so it stays > 0.
    """

    name = "ROBUST"

    def __init__(self, percentile: float = 0.75, floor: float = 1e-6) -> None:
        super().__init__()
        _require(0 < percentile <= 1, f"{self.name}: percentile={percentile} must be in (0, 1] (a share, "
                                      "not a percent); use e.g. 0.75")
        _check_positive("floor", floor, self.name, "it keeps the Huber delta above 0; use e.g. 1e-6")
        self.percentile, self.floor = percentile, floor

    def delta(self, pred: Tensor, target: Tensor) -> float:
        """The Huber delta of this batch: the percentile of |pred - target|, at least ``floor``."""
        errors = (pred - target).detach().abs().flatten().float()
        return max(float(torch.quantile(errors, self.percentile)), self.floor)

    def error(self, pred: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(pred, target, delta=self.delta(pred, target))


LOSSES: dict[str, type[Loss]] = {cls.name: cls for cls in (
    MSELoss, MAELoss, MAPELoss, AsymmetricLoss, QuantileLoss, SharpeLoss, TradingLoss, RobustLoss)}


def build_loss(name: str, **params: object) -> Loss:
    """Build a loss by name (case-insensitive) with its parameters.

    Raises:
        ParamsError: an unknown name (listing the valid ones), a parameter the loss does not take
            (listing those it takes), or a bad value (naming the value and the rule).

    Example:
        >>> build_loss("sharpe_loss", k=50, cost=0.001).cost
        0.001
    """
    cls = _loss_class(name)
    accepted = list(loss_parameters(name))
    unknown = sorted(set(params) - set(accepted))
    _require(not unknown, f"{cls.name} takes no parameter(s) {unknown}; it takes {accepted or 'none, drop them'}")
    return cls(**params)


def loss_parameters(name: str) -> tuple[str, ...]:
    """The parameter names the loss called ``name`` accepts (case-insensitive), in order.

    Raises:
        ParamsError: an unknown name, listing the valid ones.

    Example:
        >>> loss_parameters("trading_loss")
        ('error', 'error_weight', 'direction_weight', 'k', 'power', 'cost')
        >>> loss_parameters("MSE")
        ()
    """
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    signature = inspect.signature(_loss_class(name).__init__).parameters.values()
    return tuple(p.name for p in signature if p.kind in kinds and p.name != "self")


def _loss_class(name: str) -> type[Loss]:
    cls = LOSSES.get(str(name).upper())
    if cls is None:
        raise ParamsError(f"unknown loss {name!r}; valid names: {', '.join(LOSSES)} (case-insensitive)")
    return cls

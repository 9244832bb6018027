"""Measuring what autograd saves in one forward pass (what the activation model predicts)."""

from __future__ import annotations

import torch
from torch import nn


def saved_activation_bytes(model: nn.Module, *inputs: torch.Tensor) -> int:
    """Bytes of the tensors autograd saves in one forward pass, parameters excluded.

    Storages are counted once (views share them). Runs the model's forward in its current
    mode and discards the graph. Works on any device; it is what the activation part of
    :func:`estimate_memory` models.

    Example:
        >>> # Linear keeps its (2 x 4) input for the weight's gradient, ReLU its (2 x 8) output
        >>> saved_activation_bytes(nn.Sequential(nn.Linear(4, 8), nn.ReLU()), torch.randn(2, 4))
        96
    """
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    backbone = getattr(model, "backbone", None)
    if backbone is not None:
        weights |= {p.untyped_storage().data_ptr() for p in backbone.model.parameters()}
    kept: dict[int, torch.Tensor] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        ptr = t.untyped_storage().data_ptr()
        if ptr not in weights:
            kept[ptr] = t
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(*inputs)
    total = sum(t.untyped_storage().nbytes() for t in kept.values())
    del out
    return total

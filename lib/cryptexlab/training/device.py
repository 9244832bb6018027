"""Where a run trains and with which batch: the device choice, ``batch_size: auto``, peak memory."""

from __future__ import annotations

import resource

import torch

from cryptexlab.devices import auto_batch_size, available_memory_mib
from cryptexlab.params import TIMELLM_KINDS, ModelConfig, TrainConfig


def pick_device(choice: str = "auto") -> torch.device:
    """cuda, then mps, then cpu for ``auto``; otherwise the named device."""
    if choice != "auto":
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def batch_size_for(train: TrainConfig, model: ModelConfig, seq_len: int, pred_len: int, n_windows: int,
                   device: str) -> int:
    """``train.batch_size``, with ``auto`` resolved (:func:`cryptexlab.devices.auto_batch_size`) on ``device``.

    ``auto`` is for the Time-LLM models, whose memory is estimated; any other model trains with 32.
    The batch never exceeds one epoch's windows (``n_windows`` capped by ``max_train_windows``).
    """
    if train.batch_size != "auto":
        return train.batch_size
    if model.kind not in TIMELLM_KINDS:
        return 32
    cap = max(1, min(train.max_train_windows or n_windows, n_windows, 4096))
    return auto_batch_size(model, seq_len, pred_len, available_memory_mib(device), train.memory_margin, cap)


def peak_memory_mib(device: torch.device) -> float:
    """Peak GPU memory allocated (cuda), else the process's peak resident set size."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

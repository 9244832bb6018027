"""Accelerators: the devices of this machine, trials packed onto them by memory estimate, the batch that fits.

* :func:`visible_devices` lists the CUDA devices with their total and free memory (none on a
  CPU-only machine).
* :class:`DeviceLedger` pins each trial to one device. A trial goes to the device with the most
  room, and only while the memory estimates of the trials running there stay under
  ``(1 - margin) x`` its total memory: several small trials share a GPU, a large one waits for room.
  The ledger is a JSON file under an exclusive lock (``fcntl``), so every worker process of
  one host shares it. An entry whose process died is dropped at the next look.
* :func:`auto_batch_size` is ``train.batch_size: auto``: the largest batch whose estimate
  (:func:`cryptexlab.memory.max_batch_size`) fits ``(1 - train.memory_margin)`` of the device's
  free memory (free RAM on a CPU), never more than one epoch's windows.

Written here: Optuna and Ray place trials by count of devices (Ray's ``num_gpus`` fractions),
not by an estimate of each trial's memory.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptexlab.errors import ParamsError
from cryptexlab.memory import MIB, backbone_facts, max_batch_size
from cryptexlab.models.backbones import load_backbone
from cryptexlab.processes import pid_alive


@dataclass(frozen=True)
class Device:
    """One accelerator: its torch name and its memory in MiB."""

    name: str
    total_mib: float
    free_mib: float


def visible_devices() -> list[Device]:
    """The CUDA devices torch sees, with total and free memory (``torch.cuda.mem_get_info``); [] without CUDA."""
    import torch

    if not torch.cuda.is_available():
        return []
    out = []
    for i in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(i)
        out.append(Device(f"cuda:{i}", total / MIB, free / MIB))
    return out


def available_memory_mib(device: str) -> float:
    """Free memory of ``device`` in MiB: ``mem_get_info`` on CUDA, free RAM (``SC_AVPHYS_PAGES``) otherwise."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.mem_get_info(torch.device(device))[0] / MIB
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / MIB


class DeviceLedger:
    """Which trials run on which device, shared by the worker processes of one host (see the module).

    Args:
        path: The ledger file (created; its folder must exist).
        devices: The devices to place on (:func:`visible_devices`, or fakes in tests).
        margin: Share of each device's total memory kept out of the packing (CUDA context, allocator
            fragmentation and what the estimate leaves out; 0.2 by default).
    """

    def __init__(self, path: str | os.PathLike[str], devices: list[Device], margin: float = 0.2) -> None:
        if not devices:
            raise ParamsError("no accelerator to place trials on (torch sees no CUDA device); set 02_search.devices: "
                              "none to train on the CPU")
        if not 0 <= margin < 1:
            raise ParamsError(f"margin={margin}: the share of device memory kept free must be in [0, 1), e.g. 0.2")
        self.path, self.devices, self.margin = Path(path), devices, margin

    def capacity_mib(self, device: Device) -> float:
        """What the estimates of the trials on ``device`` may add up to."""
        return device.total_mib * (1 - self.margin)

    def acquire(self, key: str, estimate_mib: float, *, wait_s: float = 0.5, timeout_s: float | None = None) -> Device:
        """Place trial ``key`` (estimate in MiB) on the device with the most room, waiting while none has enough.

        Raises:
            ParamsError: the estimate exceeds every device's capacity (it would never fit), or no room
                came within ``timeout_s``.
        """
        largest = max(self.capacity_mib(d) for d in self.devices)
        if estimate_mib > largest:
            raise ParamsError(f"memory estimate {estimate_mib:.0f} MiB exceeds every device's capacity (largest "
                              f"{largest:.0f} MiB = {1 - self.margin:.0%} of its memory); choose a smaller batch or "
                              "model, or a device with more memory")
        start = time.monotonic()
        while True:
            with self._locked() as ledger:
                room = {d.name: self.capacity_mib(d) - sum(ledger.get(d.name, {}).values()) for d in self.devices}
                best = max(self.devices, key=lambda d: room[d.name])
                if room[best.name] >= estimate_mib:
                    ledger.setdefault(best.name, {})[f"{os.getpid()}:{key}"] = estimate_mib
                    return best
            if timeout_s is not None and time.monotonic() - start > timeout_s:
                raise ParamsError(f"no device had {estimate_mib:.0f} MiB free for trial {key} within {timeout_s:g} s")
            time.sleep(wait_s)

    def release(self, key: str) -> None:
        """Take trial ``key`` off its device."""
        with self._locked() as ledger:
            for placed in ledger.values():
                placed.pop(f"{os.getpid()}:{key}", None)

    def placed(self) -> dict[str, dict[str, float]]:
        """Device name -> {"pid:trial": estimate MiB} of the trials running now."""
        with self._locked() as ledger:
            return {name: dict(placed) for name, placed in ledger.items()}

    @contextmanager
    def _locked(self) -> Iterator[dict[str, dict[str, float]]]:
        with open(self.path, "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                f.seek(0)
                text = f.read()
                ledger: dict[str, dict[str, float]] = json.loads(text) if text.strip() else {}
                for placed in ledger.values():  # a worker that died cannot release its trials
                    for key in [k for k in placed if not pid_alive(int(k.split(":", 1)[0]))]:
                        del placed[key]
                yield ledger
                f.seek(0)
                f.truncate()
                f.write(json.dumps(ledger))
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


def auto_batch_size(model: Any, seq_len: int, pred_len: int, free_mib: float, margin: float, cap: int) -> int:
    """The largest batch whose estimate fits ``(1 - margin) x free_mib``, at most ``cap`` (one epoch's windows).

    Raises:
        ParamsError: not even one window fits.
    """
    facts = backbone_facts(load_backbone(model.llm_model, model.llm_layers))
    budget = (1 - margin) * free_mib * MIB
    batch = max_batch_size(budget, model, seq_len, pred_len, facts)
    if batch < 1:
        raise ParamsError(f"batch_size auto: not even one window fits {1 - margin:.0%} of the {free_mib:.0f} MiB "
                          "free on the device; free memory, use a smaller model, or set train.batch_size to a number")
    return min(batch, cap)

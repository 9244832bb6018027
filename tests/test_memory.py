"""Memory estimate of Time-LLM: exact parameter counts, saved activations, batch search, errors."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import torch
import transformers

from conftest import public_names
from cryptexlab.errors import ParamsError
from cryptexlab.memory import (
    BackboneFacts,
    backbone_facts,
    estimate_memory,
    max_batch_size,
    n_patches,
    saved_activation_bytes,
    trainable_parameters,
)
from cryptexlab.models.backbones import Backbone, load_backbone
from cryptexlab.models.timellm import TimeLLM
from cryptexlab.params import TIMELLM_VARIANTS, ModelConfig

SEQ, PRED, B = 32, 8, 4
SMALL = dict(d_model=8, d_ff=16, n_heads=2, patch_len=8, stride=4, num_tokens=20)


def small(**overrides) -> ModelConfig:
    return ModelConfig(**{**SMALL, "llm_layers": 1, **overrides})


@pytest.fixture(scope="module")
def facts() -> BackboneFacts:
    """Facts of MiniLM read from all six layers (so they cover every llm_layers)."""
    return backbone_facts(load_backbone("MINILM", llm_layers=6))


def build(config: ModelConfig, backbone: Backbone | None = None, seq_len: int = SEQ, pred_len: int = PRED,
          n_outputs: int = 1) -> TimeLLM:
    torch.manual_seed(0)
    backbone = backbone or load_backbone("MINILM", config.llm_layers)
    return TimeLLM(config, seq_len, pred_len, backbone, variant=TIMELLM_VARIANTS[config.kind], n_outputs=n_outputs)


def series(batch: int = B, seq_len: int = SEQ, channels: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    return torch.randn(batch, seq_len, channels, generator=gen).cumsum(1)


# ----------------------------------------------------------------------------- exact counts


@pytest.mark.parametrize("overrides, seq_len, pred_len, n_outputs", [
    ({}, SEQ, PRED, 1),
    ({"e_layers": 2}, SEQ, PRED, 1),
    ({"e_layers": 3, "d_layers": 2}, 48, 12, 1),
    ({"d_layers": 3, "activation": "tanh", "num_tokens": 7}, SEQ, PRED, 1),
    ({"patch_len": 5, "stride": 3, "num_tokens": 50}, 37, 5, 1),
    ({"patch_len": 16, "stride": 16}, 64, 16, 3),
    ({"kind": "timellm_attention", "e_layers": 2}, SEQ, PRED, 1),
    ({"kind": "timellm_no_llm", "d_layers": 2}, SEQ, PRED, 2),
])
def test_trainable_parameters_are_exact(facts, overrides, seq_len, pred_len, n_outputs) -> None:
    config = small(**overrides)
    model = build(config, seq_len=seq_len, pred_len=pred_len, n_outputs=n_outputs)
    real = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert model.n_patches == n_patches(config, seq_len)
    assert trainable_parameters(config, seq_len, pred_len, facts.width, facts.vocab_size, n_outputs) == real
    est = estimate_memory(config, seq_len, pred_len, 2, facts, n_outputs=n_outputs)
    assert est.trainable_params == real
    assert est.trainable_weights == 4 * real
    assert estimate_memory(config, seq_len, pred_len, 2, facts, n_outputs=n_outputs, dtype_bytes=2) \
        .trainable_weights == 2 * real


@pytest.mark.parametrize("kind,n_covariates,n_outputs", [("timellm", 14, 1), ("timellm_no_llm", 3, 3)])
def test_trainable_parameters_count_the_covariate_encoder(facts, kind, n_covariates, n_outputs) -> None:
    config = small(kind=kind, covariates=True)
    torch.manual_seed(0)
    model = TimeLLM(config, SEQ, PRED, load_backbone("MINILM", config.llm_layers), variant=TIMELLM_VARIANTS[kind],
                    n_outputs=n_outputs, n_covariates=n_covariates)
    real = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable_parameters(config, SEQ, PRED, facts.width, facts.vocab_size, n_outputs, n_covariates) == real
    assert real > trainable_parameters(config, SEQ, PRED, facts.width, facts.vocab_size, n_outputs)


def test_default_config_parameter_count(facts) -> None:
    config = ModelConfig()
    model = build(config, seq_len=96, pred_len=24)
    assert trainable_parameters(config, 96, 24, facts.width, facts.vocab_size) == \
        sum(p.numel() for p in model.parameters() if p.requires_grad) == 30_833_168


@pytest.mark.parametrize("llm_layers", [1, 2])
def test_frozen_backbone_bytes_are_the_truncated_view(facts, llm_layers) -> None:
    view = load_backbone("MINILM", llm_layers)
    real = sum(p.numel() * p.element_size() for p in view.model.parameters())
    est = estimate_memory(small(llm_layers=llm_layers), SEQ, PRED, 2, facts)
    assert est.frozen_backbone == real
    assert est.frozen_params * 4 == real
    assert backbone_facts(view).params(llm_layers) * 4 == real  # facts of the view itself agree
    assert est.frozen_backbone < 4 * facts.params(6)  # the deeper layers of the shared model do not count
    assert estimate_memory(small(llm_layers=llm_layers), SEQ, PRED, 2, facts, backbone_dtype_bytes=2) \
        .frozen_backbone == real // 2


def test_backbone_facts_of_minilm(facts) -> None:
    assert (facts.family, facts.width, facts.intermediate_size, facts.heads, facts.vocab_size, facts.layers) == \
        ("bert", 384, 1536, 12, 30522, 6)
    assert len(set(facts.layer_params)) == 1 and facts.dtype_bytes == 4
    assert facts.hidden_dropout == facts.attention_dropout == 0.1
    full = load_backbone("MINILM", 6)
    assert facts.params(6) == sum(p.numel() for p in full.model.parameters())


# ----------------------------------------------------------------------------- activations vs saved tensors


@pytest.mark.parametrize("overrides", [
    {},
    {"llm_layers": 2},
    {"dropout": 0.0, "e_layers": 2},
    {"llm_layers": 2, "d_layers": 2, "activation": "relu"},
    {"fast": False},
    {"fast": False, "dropout": 0.0, "d_layers": 2},
    {"dropout": 0.0, "d_layers": 3, "activation": "tanh"},
    {"backbone_dropout": True, "llm_layers": 2},
    {"kind": "timellm_attention", "num_tokens": 2},
    {"kind": "timellm_no_llm", "num_tokens": 2, "d_layers": 2},
])
def test_activations_match_saved_tensors_on_cpu(facts, overrides) -> None:
    config = small(**overrides)
    model = build(config).train()
    measured = saved_activation_bytes(model, series())
    assert estimate_memory(config, SEQ, PRED, B, facts, device="cpu").activations == measured


def test_activations_match_with_channels_and_quantiles(facts) -> None:
    config = small(llm_layers=2)
    model = build(config, n_outputs=3).train()
    measured = saved_activation_bytes(model, series(batch=3, channels=2))
    assert estimate_memory(config, SEQ, PRED, 3, facts, channels=2, n_outputs=3, device="cpu").activations == measured


def _tiny(family: str, llm_layers: int) -> Backbone:
    """A random tiny GPT-2 or LLaMA with MiniLM's tokenizer, built in memory."""
    tokenizer = load_backbone("MINILM", 1).tokenizer
    vocab = len(tokenizer)
    if family == "gpt2":
        config = transformers.GPT2Config(vocab_size=vocab, n_embd=32, n_layer=llm_layers, n_head=4, n_positions=256)
    else:
        config = transformers.LlamaConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=llm_layers,
                                          num_attention_heads=4, num_key_value_heads=2, intermediate_size=64,
                                          max_position_embeddings=256)
    torch.manual_seed(0)
    model = transformers.AutoModel.from_config(config, attn_implementation="sdpa").eval()
    for p in model.parameters():
        p.requires_grad_(False)
    layers = model.h if family == "gpt2" else model.layers
    return Backbone(family, family, True, model, tokenizer, layers)


@pytest.mark.parametrize("family", ["gpt2", "llama"])
@pytest.mark.parametrize("overrides", [{}, {"fast": False, "llm_layers": 2}, {"backbone_dropout": True}])
def test_activations_match_other_families(family, overrides) -> None:
    config = small(**overrides)
    backbone = _tiny(family, config.llm_layers)
    facts = backbone_facts(backbone)
    assert facts.params(config.llm_layers) == sum(p.numel() for p in backbone.model.parameters())
    model = build(config, backbone).train()
    assert estimate_memory(config, SEQ, PRED, B, facts, device="cpu").activations == \
        saved_activation_bytes(model, series())


def test_autocast_estimate_is_close_on_cpu(facts) -> None:
    config = small(llm_layers=2)
    model = build(config).train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        measured = saved_activation_bytes(model, series())
    est = estimate_memory(config, SEQ, PRED, B, facts, autocast=True, device="cpu")
    assert est.activations == pytest.approx(measured, rel=0.005)
    # the bf16 copies of the weights (embedding table, backbone layers) are batch-independent
    assert est.activations_fixed > 2 * facts.vocab_size * facts.width


@pytest.mark.parametrize("dropout", [0.1, 0.0])  # CPU math kernel, fused kernel
def test_prototype_keys_and_values_are_kept_once_per_batch(facts, dropout) -> None:
    """All S*P queries attend in one call: keys and values (and their gradients) are not per series.

    Many prototypes and no backbone make the keys and values a large share; the estimate's split
    into a fixed part and a per-sample part matches the saved tensors at two batch sizes exactly.
    """
    config = small(kind="timellm_no_llm", num_tokens=200, dropout=dropout)
    model = build(config).train()
    for batch in (2, B):
        measured = saved_activation_bytes(model, series(batch=batch))
        assert estimate_memory(config, SEQ, PRED, batch, facts, device="cpu").activations == measured
    est = estimate_memory(config, SEQ, PRED, B, facts, device="cpu")
    keys_values = 2 * config.num_tokens * config.d_ff * config.n_heads * 4
    assert est.activations_fixed >= keys_values + facts.vocab_size * facts.width * 4  # + the transposed table
    bigger = estimate_memory(small(kind="timellm_no_llm", num_tokens=400, dropout=dropout), SEQ, PRED, B, facts,
                             device="cpu")
    assert bigger.activations_fixed - est.activations_fixed >= keys_values  # twice the prototypes, once per batch
    probabilities = 3 * config.n_heads * n_patches(config, SEQ) * 200 * 4 if dropout else 0  # the math kernel's
    assert bigger.activations_per_sample - est.activations_per_sample == probabilities


# ----------------------------------------------------------------------------- structure of the estimate


def test_components_are_positive_and_total_is_their_sum(facts) -> None:
    est = estimate_memory(ModelConfig(llm_layers=2), 96, 24, 16, facts)
    parts = [est.trainable_weights, est.gradients, est.optimizer_state, est.frozen_backbone, est.activations]
    assert all(p > 0 for p in parts)
    assert est.total == sum(parts)
    assert est.activations == est.activations_fixed + 16 * est.activations_per_sample


@pytest.mark.parametrize("options", [{}, {"autocast": True}, {"training": False}, {"channels": 3},
                                     {"device": "cpu"}, {"fast": False}])
def test_activations_are_linear_in_the_batch(facts, options) -> None:
    config = ModelConfig(llm_layers=2, fast=options.pop("fast", True))
    one, two, six = (estimate_memory(config, 96, 24, b, facts, **options) for b in (5, 10, 30))
    fixed = one.activations_fixed
    assert two.activations - fixed == 2 * (one.activations - fixed)
    assert six.activations - fixed == 6 * (one.activations - fixed)
    assert one.activations_per_sample == two.activations_per_sample > 0
    assert 0 < fixed


def test_more_llm_layers_more_activations(facts) -> None:
    acts = [estimate_memory(ModelConfig(llm_layers=n), 96, 24, 8, facts).activations for n in range(1, 7)]
    assert acts == sorted(acts) and len(set(acts)) == 6
    frozen = [estimate_memory(ModelConfig(llm_layers=n), 96, 24, 8, facts).frozen_backbone for n in range(1, 7)]
    assert all(b - a == facts.layer_params[0] * 4 for a, b in zip(frozen, frozen[1:], strict=False))


def test_longer_inputs_and_prompt_cost_more(facts) -> None:
    short = estimate_memory(ModelConfig(), 96, 24, 8, facts)
    long = estimate_memory(ModelConfig(), 192, 24, 8, facts)
    no_prompt = estimate_memory(ModelConfig(prompt=False), 96, 24, 8, facts)
    assert long.activations > short.activations > no_prompt.activations


def test_optimizer_state(facts) -> None:
    config = ModelConfig(llm_layers=1)
    adam = estimate_memory(config, 96, 24, 8, facts)
    assert adam.optimizer_state == 2 * adam.trainable_weights
    assert adam.gradients == adam.trainable_weights
    assert estimate_memory(config, 96, 24, 8, facts, optimizer="adamw").optimizer_state == adam.optimizer_state
    assert estimate_memory(config, 96, 24, 8, facts, optimizer="sgd").optimizer_state == 0
    assert estimate_memory(config, 96, 24, 8, facts, optimizer="sgd_momentum").optimizer_state == \
        adam.trainable_weights


def test_evaluation_has_no_gradients_and_fewer_activations(facts) -> None:
    config = ModelConfig(llm_layers=4)
    train = estimate_memory(config, 96, 24, 8, facts)
    evaluation = estimate_memory(config, 96, 24, 8, facts, training=False)
    assert evaluation.gradients == evaluation.optimizer_state == 0
    assert 0 < evaluation.activations < train.activations
    assert evaluation.frozen_backbone == train.frozen_backbone
    assert evaluation.trainable_weights == train.trainable_weights


def test_prompt_tokens_from_the_tokenizer(facts) -> None:
    config = small()
    model = build(config)
    auto = estimate_memory(config, SEQ, PRED, B, facts)
    given = estimate_memory(config, SEQ, PRED, B, facts, prompt_tokens=model.prompt.length)
    assert auto == given
    assert estimate_memory(config, SEQ, PRED, B, facts, prompt_tokens=0).activations < auto.activations
    bare = BackboneFacts(**{**{f: getattr(facts, f) for f in facts.__dataclass_fields__}, "tokenizer": None})
    with pytest.raises(ParamsError, match="prompt_tokens=None needs a tokenizer"):
        estimate_memory(config, SEQ, PRED, B, bare)
    assert estimate_memory(config, SEQ, PRED, B, bare, prompt_tokens=model.prompt.length) == auto


def test_to_dict_and_explain(facts) -> None:
    est = estimate_memory(ModelConfig(llm_layers=2), 96, 24, 32, facts)
    d = est.to_dict()
    assert d["batch_size"] == 32 and d["training"] is True and d["trainable_params"] == est.trainable_params
    for name in ("trainable_weights", "gradients", "optimizer_state", "frozen_backbone", "activations", "total"):
        assert d[f"{name}_mib"] == pytest.approx(getattr(est, name) / 2**20, abs=1e-3)
    text = est.explain()
    assert "batch 32" in text and "total" in text and f"{est.total / 2**20:.1f} MiB" in text
    assert est.batch_size == 32 and est.training is True
    model = build(ModelConfig(llm_layers=2), seq_len=96, pred_len=24)
    assert est.trainable_params == sum(p.numel() for p in model.parameters() if p.requires_grad)  # exact count
    assert est.activations == est.activations_fixed + 32 * est.activations_per_sample  # the documented split
    with pytest.raises(AttributeError):
        est.activations = 0  # frozen


# ----------------------------------------------------------------------------- batch search


@pytest.mark.parametrize("budget_mib, options", [(700, {}), (2048, {}), (1000.5, {"autocast": True}),
                                                 (4096, {"channels": 2, "optimizer": "sgd"})])
def test_max_batch_size_is_the_largest_that_fits(facts, budget_mib, options) -> None:
    config = ModelConfig(llm_layers=2)
    budget = budget_mib * 2**20
    batch = max_batch_size(budget, config, 96, 24, facts, **options)
    assert batch >= 1
    assert estimate_memory(config, 96, 24, batch, facts, **options).total <= budget
    assert estimate_memory(config, 96, 24, batch + 1, facts, **options).total > budget


def test_max_batch_size_at_the_exact_total(facts) -> None:
    config = ModelConfig(llm_layers=1)
    total = estimate_memory(config, 96, 24, 17, facts).total
    assert max_batch_size(total, config, 96, 24, facts) == 17
    assert max_batch_size(total - 1, config, 96, 24, facts) == 16


def test_max_batch_size_too_small_budget_is_zero(facts) -> None:
    config = ModelConfig(llm_layers=2)
    one = estimate_memory(config, 96, 24, 1, facts).total
    assert max_batch_size(one - 1, config, 96, 24, facts) == 0
    assert max_batch_size(0, config, 96, 24, facts) == 0
    assert max_batch_size(one, config, 96, 24, facts) == 1


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("call, match", [
    (lambda f: estimate_memory(small(), SEQ, PRED, 0, f), r"batch_size=0 is invalid.*>= 1"),
    (lambda f: estimate_memory(small(), SEQ, PRED, -3, f), r"batch_size=-3 is invalid"),
    (lambda f: estimate_memory(small(), SEQ, PRED, 2.5, f), r"batch_size=2.5 is invalid"),
    (lambda f: estimate_memory(small(), SEQ, PRED, 2, f, channels=0), r"channels=0 is invalid"),
    (lambda f: max_batch_size(-1, small(), SEQ, PRED, f), r"budget_bytes=-1 is invalid.*>= 0"),
    (lambda f: max_batch_size(math.nan, small(), SEQ, PRED, f), r"budget_bytes=nan is invalid"),
    (lambda f: max_batch_size(math.inf, small(), SEQ, PRED, f), r"budget_bytes=inf is invalid"),
    (lambda f: estimate_memory(small(), SEQ, PRED, 2, f, optimizer="lion"), r"optimizer='lion' is unknown.*adam"),
    (lambda f: estimate_memory(small(), SEQ, PRED, 2, f, device="tpu"), r"device='tpu' is not supported.*cuda"),
    (lambda f: estimate_memory(small(), SEQ, PRED, 2, f, dtype_bytes=3), r"dtype_bytes=3 is invalid.*1, 2, 4 or 8"),
    (lambda f: estimate_memory(small(), SEQ, PRED, 2, f, prompt_tokens=-1), r"prompt_tokens=-1 is invalid"),
    (lambda f: estimate_memory(ModelConfig(kind="dlinear"), SEQ, PRED, 2, f), r"model.kind='dlinear'.*Time-LLM"),
    (lambda f: estimate_memory(small(patch_len=16, stride=8), 12, PRED, 2, f), r"patch_len=16 must be at most"),
])
def test_bad_inputs_raise_params_error(facts, call, match) -> None:
    with pytest.raises(ParamsError, match=match):
        call(facts)


def test_config_deeper_than_the_facts(facts) -> None:
    shallow = backbone_facts(load_backbone("MINILM", 2))
    with pytest.raises(ParamsError, match=r"llm_layers=3 is out of range.*cover 2 layer.*llm_layers >= 3"):
        estimate_memory(small(llm_layers=3), SEQ, PRED, 2, shallow)


# ----------------------------------------------------------------------------- the GPU benchmark script


def test_benchmark_without_gpu_writes_nothing(monkeypatch, capsys) -> None:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "memory_estimate.py"
    spec = importlib.util.spec_from_file_location("memory_estimate_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.syspath_prepend(str(path.parent))
    spec.loader.exec_module(module)
    written = []
    monkeypatch.setattr(module, "write", lambda *a, **k: written.append(a))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert module.main() == 0
    assert "needs a CUDA GPU" in capsys.readouterr().out
    assert written == []


def test_gpu_check_without_gpu_writes_nothing(monkeypatch, capsys, tmp_path) -> None:
    module = _benchmark("memory_gpu_check", monkeypatch)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.chdir(tmp_path)
    assert module.main([]) == 0
    assert "needs a CUDA GPU" in capsys.readouterr().out and list(tmp_path.iterdir()) == []


def test_gpu_check_on_the_cpu_measures_the_saved_tensors(monkeypatch, capsys) -> None:
    """The check's recipe runs end to end; on the CPU in float32 the estimate is the saved tensors to the byte."""
    import json

    module = _benchmark("memory_gpu_check", monkeypatch)
    args = ["--device", "cpu", "--llm-layers", "1", "--batch", "2", "--seq-len", "32", "--precision", "float32"]
    assert module.main([*args, "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert "error" not in row and row["ratio"]["activations_estimate_over_saved"] == 1.0


def _benchmark(name: str, monkeypatch):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.syspath_prepend(str(path.parent))
    spec.loader.exec_module(module)
    return module


def test_memory_package_re_exports_its_public_names() -> None:
    import cryptexlab.memory as memory

    used = {"BackboneFacts", "MemoryEstimate", "backbone_facts", "estimate_memory", "max_batch_size", "n_patches",
            "saved_activation_bytes", "trainable_parameters"}  # what lib/, tests/ and benchmarks/ import
    assert used <= set(memory.__all__) and all(hasattr(memory, n) for n in memory.__all__)
    internal = {"ActivationModel", "prompt_lengths"}  # the activation model's workings, used by _estimate
    for module in (memory._facts, memory._activations, memory._estimate, memory._measure):
        missing = public_names(module) - internal - set(memory.__all__)
        assert not missing, (module.__name__, sorted(missing))

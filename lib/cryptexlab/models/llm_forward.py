"""Running the frozen backbone: the plain full computation, and the exact fast path.

Plain: the whole truncated model with eager attention and attention maps (what the reference
code does). Fast: SDPA attention without maps, and for the BERT family the last layer computes
only the query positions that the head reads (the last ``n_query`` positions); keys and values
still come from every position, so the result is the same up to float rounding.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cryptexlab.models.backbones import Backbone


def run_backbone(backbone: Backbone, embeds: torch.Tensor, mask: torch.Tensor, n_query: int,
                 fast: bool) -> torch.Tensor:
    """Hidden states of the last layer: (S, n_query, d_llm) when fast, (S, L, d_llm) when plain."""
    if not fast:
        with attention_implementation(backbone.model, "eager"):
            return backbone.model(inputs_embeds=embeds, attention_mask=mask, output_attentions=True).last_hidden_state
    if backbone.family != "bert":
        return backbone.model(inputs_embeds=embeds, attention_mask=mask).last_hidden_state[:, -n_query:]
    model: Any = backbone.model  # a transformers BertModel: its submodules are only known at runtime
    additive = (1.0 - mask[:, None, None, :].to(embeds.dtype)) * torch.finfo(embeds.dtype).min
    hidden = model.embeddings(inputs_embeds=embeds)
    for layer in backbone.layers[:-1]:
        hidden = layer(hidden, attention_mask=additive)
    return _bert_layer_for_queries(backbone.layers[-1], hidden, additive, n_query)


def _bert_layer_for_queries(layer: Any, hidden: torch.Tensor, additive: torch.Tensor,
                            n_query: int) -> torch.Tensor:
    """A BERT layer evaluated only at the last ``n_query`` positions (post-LN block).

    ``layer`` is a transformers ``BertLayer``, typed ``Any``: its submodules are only known at runtime.
    """
    att = layer.attention.self
    s, length, _ = hidden.shape
    heads, size = att.num_attention_heads, att.attention_head_size
    h_q = hidden[:, -n_query:]
    q = att.query(h_q).view(s, n_query, heads, size).transpose(1, 2)
    k = att.key(hidden).view(s, length, heads, size).transpose(1, 2)
    v = att.value(hidden).view(s, length, heads, size).transpose(1, 2)
    ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=additive,
                                         dropout_p=att.dropout.p if att.training else 0.0)
    ctx = ctx.transpose(1, 2).reshape(s, n_query, heads * size)
    out = layer.attention.output
    h1 = out.LayerNorm(out.dropout(out.dense(ctx)) + h_q)
    inter = layer.intermediate.intermediate_act_fn(layer.intermediate.dense(h1))
    return layer.output.LayerNorm(layer.output.dropout(layer.output.dense(inter)) + h1)


@contextlib.contextmanager
def attention_implementation(model: nn.Module, name: str) -> Iterator[None]:
    """Temporarily switch every config of the model's modules to another attention implementation."""
    configs = {id(c): c for c in (getattr(m, "config", None) for m in model.modules()) if c is not None}
    saved = {k: c._attn_implementation for k, c in configs.items()}
    try:
        for c in configs.values():
            c._attn_implementation = name
        yield
    finally:
        for k, c in configs.items():
            c._attn_implementation = saved[k]

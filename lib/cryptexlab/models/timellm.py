"""Time-LLM (Jin et al., ICLR 2024): reprogram patches of a series into a frozen LLM.

Data flow for x of shape (B, T, N), channel-independent (every channel is forecast alone):

1. RevIN: each window standardised by its own mean and std (eps 1e-5, no affine).
2. Prompt-as-Prefix: per series, a text with the dataset description, the task and input
   statistics (min, max, median, trend, top-5 FFT autocorrelation lags), tokenised to a fixed
   length (left padding, so the patches always sit at the same positions) and embedded with
   the backbone's own input embeddings.
3. Patching: pad the end by ``stride`` (replicate), cut patches of ``patch_len`` every
   ``stride``: P = (T - patch_len) // stride + 2 patches; each embedded by a Conv1d
   (patch_len -> d_model, kernel 3, circular padding, no bias).
4. Text prototypes: a trainable Linear(vocab -> num_tokens) over the frozen word embeddings.
5. Reprogramming: ``e_layers`` multi-head cross-attention layers, queries from the patches,
   keys and values from the prototypes (d_keys = d_ff); layers after the first refine the
   d_llm-wide output with a residual connection.
6. The frozen backbone, truncated to ``llm_layers``, reads [prompt; reprogrammed patches].
7. Head: the first d_ff features of the last P positions, flattened, ``d_layers`` linear
   layers (``activation`` between them) to pred_len, dropout, then RevIN inverse.

Exact shortcuts (``fast=True``; each is tested against the plain computation in eval mode):
fused attention (SDPA) and no attention maps; in the last backbone layer only the P patch
positions are computed as queries (keys and values from every position; BERT family); the
prototypes are cached while the model is not training; for causal backbones (GPT-2, LLaMA,
Qwen, DeepSeek) the key/value cache of the static prompt head (description and task) is computed
once and reused; prompt statistics are computed for the whole batch at once. ``fast=False`` runs the plain full computation (eager attention).

Ablations of Tan et al. (NeurIPS 2024): ``variant="no_llm"`` feeds the reprogrammed patches
straight to the head; ``variant="attention"`` replaces the LLM by one trainable multi-head
self-attention layer. Neither uses a prompt. Which model kind builds which variant:
:data:`cryptexlab.params.TIMELLM_VARIANTS`.
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from cryptexlab.errors import ParamsError
from cryptexlab.models.backbones import Backbone
from cryptexlab.models.llm_forward import run_backbone
from cryptexlab.models.prompt import PromptBuilder
from cryptexlab.params import TIMELLM_VARIANTS, ModelConfig

if TYPE_CHECKING:
    from transformers import Cache

ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "tanh": nn.Tanh}


class RevIN(nn.Module):
    """Instance normalisation of each series window (no affine parameters)."""

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps

    def norm(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Standardise over time; returns (normalised x, mean, std)."""
        mean = x.mean(dim=1, keepdim=True).detach()
        std = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + self.eps).detach()
        return (x - mean) / std, mean, std

    @staticmethod
    def denorm(y: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        """Undo :meth:`norm` on a forecast."""
        return y * std + mean


class PatchEmbedding(nn.Module):
    """Replicate-pad the end by stride, unfold into patches, embed with a circular Conv1d."""

    def __init__(self, patch_len: int, stride: int, d_model: int, dropout: float) -> None:
        super().__init__()
        self.patch_len, self.stride = patch_len, stride
        self.pad = nn.ReplicationPad1d((0, stride))
        self.conv = nn.Conv1d(patch_len, d_model, kernel_size=3, padding=1, padding_mode="circular", bias=False)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_in", nonlinearity="leaky_relu")
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(S, T) series -> (S, P, d_model) patch embeddings."""
        patches = self.pad(x.unsqueeze(1)).squeeze(1).unfold(-1, self.patch_len, self.stride)
        return self.dropout(self.conv(patches.transpose(1, 2)).transpose(1, 2))


class PrototypeMapping(nn.Module):
    """Linear(vocab -> num_tokens) over the frozen word embeddings, the weight stored transposed.

    The same function and initialisation as ``nn.Linear(vocab, num_tokens)`` applied to the
    embedding matrix transposed, but the weight is kept as (vocab, num_tokens), so the backward
    pass computes its gradient as (vocab x d_llm) @ (d_llm x num_tokens), a product shape that
    runs about 25% faster on a CPU than the (num_tokens x d_llm) @ (d_llm x vocab) of nn.Linear.
    """

    def __init__(self, vocab: int, num_tokens: int) -> None:
        super().__init__()
        reference = nn.Linear(vocab, num_tokens)  # nn.Linear's own initialisation
        self.weight_t = nn.Parameter(reference.weight.detach().T.contiguous())
        self.bias = nn.Parameter(reference.bias.detach().clone())

    def forward(self, words_t: torch.Tensor) -> torch.Tensor:
        """(d_llm, vocab) contiguous -> (num_tokens, d_llm) prototypes."""
        return torch.addmm(self.bias, words_t, self.weight_t).T


class Reprogramming(nn.Module):
    """Cross-attention from patch embeddings (queries) to text prototypes (keys, values)."""

    def __init__(self, d_query: int, n_heads: int, d_keys: int, d_llm: int, dropout: float) -> None:
        super().__init__()
        self.n_heads, self.d_keys = n_heads, d_keys
        self.query = nn.Linear(d_query, d_keys * n_heads)
        self.key = nn.Linear(d_llm, d_keys * n_heads)
        self.value = nn.Linear(d_llm, d_keys * n_heads)
        self.out = nn.Linear(d_keys * n_heads, d_llm)
        self.dropout = nn.Dropout(dropout)

    def forward(self, target: torch.Tensor, prototypes: torch.Tensor, fast: bool) -> torch.Tensor:
        """(S, P, d_query) x (K, d_llm) -> (S, P, d_llm)."""
        s, p, _ = target.shape
        h, e = self.n_heads, self.d_keys
        q = self.query(target).view(s, p, h, e).transpose(1, 2)
        k = self.key(prototypes).view(-1, h, e).transpose(0, 1)
        v = self.value(prototypes).view(-1, h, e).transpose(0, 1)
        if fast:  # every query attends to the same prototypes: one attention over all S*P queries
            flat = q.transpose(0, 1).reshape(1, h, s * p, e)
            ctx = F.scaled_dot_product_attention(flat, k.unsqueeze(0), v.unsqueeze(0),
                                                 dropout_p=self.dropout.p if self.training else 0.0)
            ctx = ctx.view(h, s, p, e).transpose(0, 1)
        else:
            scores = torch.einsum("shpe,hke->shpk", q, k) / math.sqrt(e)
            ctx = torch.einsum("shpk,hke->shpe", self.dropout(torch.softmax(scores, dim=-1)), v)
        return self.out(ctx.transpose(1, 2).reshape(s, p, h * e))


class CovariateEncoder(nn.Module):
    """The covariate path of ``model.covariates: true``: the feature set's other columns change the
    target's forecast.

    The covariates (already standardised on the training period, not per window: their level is
    information, an RSI of 80 is not an RSI of 20) are cut into the same patches as the target,
    each patch of all covariates embedded by one shared linear map and a GELU, and the flattened
    patch embeddings mapped to the ``pred_len`` outputs; beside it a linear map of the last bar's
    covariates (the most recent information, which a lead-lag relation lives on, gets a direct
    path). Both are added to the head's output in RevIN's normalised space. Both output layers
    start at zero, so an untrained covariate model is exactly its channel-independent twin (and
    with ``output: persistence`` the random walk).
    """

    def __init__(self, n_covariates: int, patch_len: int, stride: int, n_patches: int, d_model: int,
                 n_out: int, dropout: float) -> None:
        super().__init__()
        self.patch_len, self.stride = patch_len, stride
        self.pad = nn.ReplicationPad1d((0, stride))
        self.embed = nn.Linear(patch_len * n_covariates, d_model)
        self.out = nn.Linear(n_patches * d_model, n_out)
        self.last = nn.Linear(n_covariates, n_out)
        self.dropout = nn.Dropout(dropout)
        for layer in (self.out, self.last):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, cov: torch.Tensor) -> torch.Tensor:
        """(B, T, C) covariates -> (B, n_out)."""
        b = cov.shape[0]
        patches = self.pad(cov.transpose(1, 2)).unfold(-1, self.patch_len, self.stride)  # (B, C, P, patch_len)
        tokens = patches.permute(0, 2, 1, 3).reshape(b, patches.shape[2], -1)  # (B, P, C * patch_len)
        return self.out(self.dropout(F.gelu(self.embed(tokens))).reshape(b, -1)) + self.last(cov[:, -1])


class TimeLLM(nn.Module):
    """Time-LLM forecaster. Input (B, seq_len, N), output (B, pred_len, N) (or (..., n_outputs)).

    With ``n_covariates`` > 0 the input is (B, seq_len, 1 + n_covariates): the target first, then the
    covariates, which enter through :class:`CovariateEncoder`; the output is the target's, N = 1.
    """

    trainable = True
    backbone: Backbone  # set with object.__setattr__ in __init__: frozen and shared, not a submodule

    def __init__(self, config: ModelConfig, seq_len: int, pred_len: int, backbone: Backbone,
                 variant: str = "llm", n_outputs: int = 1, anchor_level: float | None = None,
                 n_covariates: int = 0) -> None:
        super().__init__()
        if config.patch_len > seq_len:
            raise ParamsError(f"patch_len={config.patch_len} must be at most seq_len={seq_len}")
        if variant not in TIMELLM_VARIANTS.values():
            raise ParamsError(f"unknown Time-LLM variant {variant!r}; use one of {', '.join(TIMELLM_VARIANTS.values())} "
                              f"(the variants of the model kinds {', '.join(TIMELLM_VARIANTS)})")
        self.config, self.seq_len, self.pred_len, self.variant = config, seq_len, pred_len, variant
        self.n_outputs = n_outputs  # > 1: one forecast per quantile, output (B, pred_len, N, n_outputs)
        object.__setattr__(self, "backbone", backbone)  # frozen and shared: not a submodule
        d_llm = backbone.width
        self.n_patches = n_patches(config, seq_len)
        self.revin = RevIN()
        self.patch_embedding = PatchEmbedding(config.patch_len, config.stride, config.d_model, config.dropout)
        vocab = backbone.word_embeddings().weight.shape[0]
        self.mapping = PrototypeMapping(vocab, config.num_tokens)
        self.reprogramming = nn.ModuleList(
            [Reprogramming(config.d_model if i == 0 else d_llm, config.n_heads, config.d_ff, d_llm, config.dropout)
             for i in range(config.e_layers)])
        if variant == "attention":
            self.attention = nn.MultiheadAttention(d_llm, num_heads=attention_heads_for(d_llm), batch_first=True)
            self.attention_norm = nn.LayerNorm(d_llm)
        self.head = _head(config, self.n_patches, pred_len * n_outputs)
        #: output "persistence": forecast = anchor + head output, the head's last layer zero-initialised, so an
        #: untrained model is the random walk; the anchor is the last observed value, or ``anchor_level`` (in
        #: input units) for return inputs, whose random walk is a constant zero return
        self.persistence = config.output == "persistence"
        self.anchor_level = anchor_level
        if self.persistence:
            zero_last_layer(self.head)
        self.n_covariates = n_covariates
        self.covariates = CovariateEncoder(n_covariates, config.patch_len, config.stride, self.n_patches,
                                           config.d_model, pred_len * n_outputs, config.dropout) if n_covariates else None
        self.prompt = PromptBuilder(backbone.tokenizer, config.description, seq_len, pred_len,
                                    split=backbone.causal) if config.prompt and variant == "llm" else None
        self._prototype_cache: torch.Tensor | None = None
        self._prefix_cache: Cache | None = None  # key/value cache of the static prompt head (causal)

    def train(self, mode: bool = True) -> TimeLLM:
        """Switch mode; the frozen backbone trains only with ``backbone_dropout``; drop cached prototypes."""
        super().train(mode)
        self.backbone.model.train(mode and self.config.backbone_dropout)
        self._prototype_cache = None
        return self

    def prototypes(self) -> torch.Tensor:
        """(num_tokens, d_llm) text prototypes; cached while not training when ``fast``."""
        if self._prototype_cache is not None and not self.training:
            return self._prototype_cache
        protos = self.mapping(self.backbone.word_embeddings_t())
        if self.config.fast and not self.training:
            self._prototype_cache = protos.detach()
            return self._prototype_cache
        return protos

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cov = None
        if self.covariates is not None:
            if x.shape[-1] != 1 + self.n_covariates:
                raise ParamsError(f"input has {x.shape[-1]} columns but the model was built for the target and "
                                  f"{self.n_covariates} covariates")
            x, cov = x[..., :1], x[..., 1:]
        b, t, n = x.shape
        if t != self.seq_len:
            raise ParamsError(f"input has {t} steps but the model was built for seq_len={self.seq_len}")
        self.backbone.model.train(self.training and self.config.backbone_dropout)  # the backbone is shared
        if self.backbone.word_embeddings().weight.device != x.device:  # not a submodule: .to() skips it
            self.backbone.model.to(x.device)
            self._prefix_cache = None
        x, mean, std = self.revin.norm(x)
        series = x.permute(0, 2, 1).reshape(b * n, t)
        enc = self.patch_embedding(series)
        protos = self.prototypes()
        for i, layer in enumerate(self.reprogramming):
            out = layer(enc, protos, self.config.fast)
            enc = out if i == 0 else enc + out
        hidden = self._body(enc, series)
        feats = hidden[:, -self.n_patches:, : self.config.d_ff]  # (S, P, d_ff)
        y = self.head(feats.transpose(1, 2).reshape(b * n, -1))  # d_ff-major flattening, as the reference
        if self.covariates is not None and cov is not None:  # n = 1: the target's forecast
            y = y + self.covariates(cov)
        if self.persistence:  # anchored in the normalised space: de-normalised, the anchor is the value itself
            y = y + anchor(series, mean.permute(0, 2, 1).reshape(b * n, 1), std.permute(0, 2, 1).reshape(b * n, 1),
                           self.anchor_level)
        if self.n_outputs > 1:
            y = y.view(b, n, self.pred_len, self.n_outputs).permute(0, 2, 1, 3)
            return self.revin.denorm(y, mean.unsqueeze(-1), std.unsqueeze(-1))
        y = y.view(b, n, self.pred_len).permute(0, 2, 1)
        return self.revin.denorm(y, mean, std)

    def _body(self, enc: torch.Tensor, series: torch.Tensor) -> torch.Tensor:
        if self.variant == "no_llm":
            return enc
        if self.variant == "attention":
            att, _ = self.attention(enc, enc, enc, need_weights=False)
            return self.attention_norm(enc + att)
        embeds, mask = enc, torch.ones(enc.shape[:2], dtype=torch.long, device=enc.device)
        if self.prompt is not None:
            ids, prompt_mask = (t.to(enc.device) for t in self.prompt(series))
            embeds = torch.cat([self.backbone.word_embeddings()(ids), enc], dim=1)
            mask = torch.cat([prompt_mask, mask], dim=1)
            if self.prompt.split:
                return self._causal_with_static_head(embeds, mask)
        return run_backbone(self.backbone, embeds, mask, self.n_patches, fast=self.config.fast)


    def _causal_with_static_head(self, embeds: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Causal backbones: [static head][statistics][patches]; the head's key/value cache is
        computed once and reused when ``fast`` (exact: a causal head never sees what follows)."""
        s = embeds.shape[0]
        assert self.prompt is not None  # only called with a (split) prompt
        static_ids = self.prompt.static_ids.to(embeds.device)
        head_mask = torch.ones(s, static_ids.shape[1], dtype=mask.dtype, device=mask.device)
        full_mask = torch.cat([head_mask, mask], dim=1)
        if not self.config.fast:
            static = self.backbone.word_embeddings()(static_ids).expand(s, -1, -1)
            return run_backbone(self.backbone, torch.cat([static, embeds], dim=1), full_mask, self.n_patches, fast=False)
        cache = self._static_head_cache(static_ids)
        cache.batch_repeat_interleave(s)
        out = self.backbone.model(inputs_embeds=embeds, attention_mask=full_mask, cache=cache, use_cache=True)
        return out.last_hidden_state[:, -self.n_patches:]

    def _static_head_cache(self, static_ids: torch.Tensor) -> Cache:
        """A fresh copy of the static head's cache (recomputed when the backbone applies dropout)."""
        if self._prefix_cache is None or self.backbone.model.training:
            with torch.no_grad():
                out = self.backbone.model(inputs_embeds=self.backbone.word_embeddings()(static_ids), use_cache=True)
            cache = getattr(out, "cache", None) or out.past_key_values
            if self.backbone.model.training:
                return cache
            self._prefix_cache = cache
        return copy.deepcopy(self._prefix_cache)


def _head(config: ModelConfig, n_patches: int, pred_len: int) -> nn.Sequential:
    width = config.d_ff * n_patches
    layers: list[nn.Module] = []
    for _ in range(config.d_layers - 1):
        layers += [nn.Linear(width, width), ACTIVATIONS[config.activation or "gelu"](), nn.Dropout(config.dropout)]
    layers += [nn.Linear(width, pred_len), nn.Dropout(config.dropout)]
    return nn.Sequential(*layers)


def zero_last_layer(module: nn.Module) -> None:
    """Zero the weight and bias of the last ``nn.Linear`` in ``module`` (a persistence-anchored output
    then starts as the random walk)."""
    last = [m for m in module.modules() if isinstance(m, nn.Linear)][-1]
    nn.init.zeros_(last.weight)
    if last.bias is not None:
        nn.init.zeros_(last.bias)


def anchor(series: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, level: float | None) -> torch.Tensor:
    """The random walk in RevIN's normalised space, (S, 1): the last normalised value of each series
    ``(S, T)``, or the constant ``level`` (input units) normalised with each series' ``mean`` and ``std``."""
    if level is None:
        return series[:, -1:]
    return (level - mean) / std


def n_patches(config: ModelConfig, seq_len: int) -> int:
    """Patches per series: P = (seq_len - patch_len) // stride + 2 (the end is padded by stride)."""
    return (seq_len - config.patch_len) // config.stride + 2


def attention_heads_for(width: int) -> int:
    """The largest head count of at most 8 that divides the width (for the attention ablation)."""
    return next(h for h in (8, 6, 4, 3, 2, 1) if width % h == 0)

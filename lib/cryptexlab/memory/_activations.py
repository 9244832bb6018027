"""The activation model of the memory estimate: what autograd keeps per series and per batch.

The activation figure counts the tensors that autograd saves for the backward pass (what
:func:`~cryptexlab.memory.saved_activation_bytes` measures), as element counts per series times bytes per
element, derived op by op from PyTorch 2.13 and transformers 5. On the CPU it matches
that measurement to the byte for the BERT, GPT-2 and LLaMA families in float32
(every kind, ``fast`` on and off, with and without dropout and ``backbone_dropout``), and
within 0.1 % under bf16 autocast. On CUDA the kernels differ in small ways (padded
log-sum-exp and masks, autocast's own casts), so there it is an approximation; see the GPU
check in the :mod:`cryptexlab.memory` docstring. The assumptions:

* The backbone is frozen, so its linear layers keep no inputs (only the trainable layers
  upstream need the input gradient). A layer keeps its normalisation inputs and statistics,
  the attention's q, k, v and output (GPT-2: its packed qkv, k, v and output), the feed-forward
  activation's input (GELU), its pieces (GPT-2's tanh GELU: four) or SwiGLU's gate, up and
  product, and, for causal families, an additive mask (computed positions x L); the LLaMA
  family adds its rotary tables once per batch.
* ``fast=True``: fused attention keeps a per-row log-sum-exp, no probabilities; in the BERT
  family the last layer computes only the P patch positions (keys and values at all L). The
  causal families split the prompt into a static head (description and task, the same for
  every series) and the statistics: the head's key/value cache is computed once without
  gradient, so every layer computes and keeps only the positions after the head, while the
  keys and values it keeps (and the causal mask's columns) span all L positions; the rotary
  tables cover the computed positions only.
  ``fast=False``: eager attention keeps q, k, v and the (heads x L x L) probabilities of every
  layer, but not the output.
* Reprogramming, per series: the query layer's input, q, the fused attention's output (already
  in the layout the out projection reads) and log-sum-exp; the prototypes' keys and values are
  computed once per batch (num_tokens x d_ff*n_heads each). ``fast=True`` runs all S*P
  queries of a batch as one attention against the shared keys and values (no per-series
  copies of them). ``fast=False`` (einsum): q, the probabilities (heads x P x num_tokens) and
  the second einsum's copy of them, the dropout mask, and the reshaped output. On the CPU,
  training with dropout > 0 has no fused kernel: the math kernel keeps, once per batch, its
  scaled copy of the keys and the values (float32 inside), and per series the scaled q, the
  probabilities, the dropout mask and the dropped probabilities, and the reshaped output
  (``device="cpu"``).
* Prototypes: the (num_tokens x d_llm) output of the mapping, once per batch. The mapping is
  ``addmm(bias, words_t, weight_t)`` whose input ``words_t`` is the frozen embedding table
  transposed (d_llm x vocab): a contiguous copy, not a parameter, that the backbone makes on
  the first forward pass and keeps for the process (``Backbone.word_embeddings_t``). The
  addmm keeps it for the weight's gradient, so the fixed part counts vocab x d_llm elements in
  the backbone's dtype (in evaluation too, where it is alive all the same). Under autocast
  autograd keeps its bf16 copy instead (see below), and the float32 table itself is in no
  component: add vocab x d_llm x 4 bytes there (LLaMA-3.2-1B: 1 GiB).
* Dropout masks: one byte per element on CUDA, a full element on the CPU. ``backbone_dropout``
  uses the backbone's own probabilities (BERT, GPT-2: 0.1; LLaMA: none).
* Backward: the prototypes' keys and values get their gradients once per batch (one attention
  call covers every series), so no per-series transient outgrows the saved tensors and the
  figure is the saved tensors alone (temporaries of single ops aside, see below).
* ``autocast=True`` (bf16 mixed precision, as the trainer runs on CUDA): activations take two
  bytes; normalisation inputs, statistics and masks stay float32; and autograd keeps bf16
  copies of the weights of every matmul whose input needs a gradient (the trainable layers
  after the mapping, the used backbone layers) and of the transposed embedding table the
  mapping reads: a batch-independent amount, often the largest part for small batches.
* Evaluation (``training=False``, under ``torch.no_grad``): nothing is kept; the figure is
  the largest single layer's working set (its training set plus its input and output hidden
  states), the cached prototypes, and with ``fast=False`` the attention maps the model
  returns for every layer. This one is a rough upper bound.

So the activations are ``fixed + batch_size * per_sample`` exactly (integers), and
:func:`~cryptexlab.memory.max_batch_size` solves for the batch in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptexlab.errors import ParamsError
from cryptexlab.memory._facts import BackboneFacts
from cryptexlab.models.prompt import PromptBuilder
from cryptexlab.models.timellm import attention_heads_for, n_patches
from cryptexlab.params import ModelConfig


@dataclass(frozen=True)
class LayerProfile:
    """What one backbone layer keeps for backward, per token, in units of width d or intermediate I.

    Attributes:
        norms: normalisation inputs (d wide each).
        norm_stats: per-token statistics of each normalisation (LayerNorm: mean and rstd; RMSNorm: rstd).
        attention: d-wide tensors kept by fused attention (q, k, v, output; GPT-2: its packed qkv, k, v, output).
        ffn: I-wide tensors kept by the feed-forward activation.
        causal_mask: an (L x L) additive mask is kept per layer.
        embed_norm: a normalisation of the embeddings before the first layer (BERT).
        final_norm: a normalisation after the last layer (GPT-2, LLaMA).
        dropout_masks: d-wide dropout masks per layer when the backbone's hidden dropout is on.
        embed_dropout: a dropout of the embeddings before the first layer (BERT, GPT-2).
        rotary: rotary position tables (cos, sin; L x head size each) are kept once per batch.
    """

    norms: int
    norm_stats: int
    attention: int
    ffn: int
    causal_mask: bool
    embed_norm: bool
    final_norm: bool
    dropout_masks: int
    embed_dropout: bool
    rotary: bool = False


#: backbone family -> its layer profile (see the module docstring)
LAYER_PROFILES: dict[str, LayerProfile] = {
    "bert": LayerProfile(norms=2, norm_stats=2, attention=4, ffn=1, causal_mask=False, embed_norm=True,
                         final_norm=False, dropout_masks=2, embed_dropout=True),
    "gpt2": LayerProfile(norms=2, norm_stats=2, attention=6, ffn=4, causal_mask=True, embed_norm=False,
                         final_norm=True, dropout_masks=2, embed_dropout=True),
    "llama": LayerProfile(norms=2, norm_stats=1, attention=4, ffn=3, causal_mask=True, embed_norm=False,
                          final_norm=True, dropout_masks=0, embed_dropout=False, rotary=True),
}
LAYER_PROFILES["qwen2"] = LAYER_PROFILES["llama"]
LAYER_PROFILES["deepseek"] = LAYER_PROFILES["llama"]  # dense-layer figure; MoE routing is not modelled


class ActivationModel:
    """Per-series and per-batch activation bytes of one configuration (see the module docstring)."""

    def __init__(self, config: ModelConfig, seq_len: int, pred_len: int, facts: BackboneFacts, variant: str,
                 prompt: int, static: int, n_outputs: int, dtype_bytes: int, autocast: bool, device: str,
                 training: bool) -> None:
        self.c, self.f, self.variant = config, facts, variant
        self.seq_len, self.pred_len, self.n_outputs = seq_len, pred_len, n_outputs
        self.p = n_patches(config, seq_len)
        self.length = prompt + self.p if variant == "llm" else self.p  # key positions of the backbone
        # positions the backbone computes: causal families with ``fast`` reuse the static head's cache
        self.queries = self.length - (static if variant == "llm" and config.fast else 0)
        self.e = 2 if autocast else dtype_bytes  # bytes per activation element
        self.f32 = 4 if autocast else dtype_bytes  # normalisation inputs, statistics, masks
        self.autocast = autocast
        self.mask = 1 if device == "cuda" else self.e  # bytes per dropout-mask element (CPU: the input's dtype)
        self.dropout = config.dropout > 0 and training
        self.device = device
        self.unfused = device == "cpu" and self.dropout  # CPU SDPA has no fused kernel with dropout
        self.inner = config.d_ff * config.n_heads
        self.profile = LAYER_PROFILES[facts.family]
        backbone_train = config.backbone_dropout and training and variant == "llm"
        self.hidden_drop = backbone_train and facts.hidden_dropout > 0
        self.attention_drop = backbone_train and facts.attention_dropout > 0
        self.backbone_unfused = self.attention_drop and device == "cpu"

    # -- training: everything autograd keeps
    def training_set(self) -> tuple[int, int]:
        """(fixed bytes, bytes per series) kept for backward."""
        fixed = self.prototypes() + self.body_fixed() + self.reprogramming_fixed()
        front = self.patches() + sum(self.reprogramming_layer(i) for i in range(self.c.e_layers))
        return fixed, front + self.body() + self.head()

    # -- evaluation: the largest working set of one layer
    def eval_set(self) -> tuple[int, int]:
        """(fixed bytes, bytes per series) live at once under no_grad."""
        d, length = self.f.width, self.length
        layers = [self.patches(), self.reprogramming_layer(0), self.head()]
        if self.variant == "llm":
            layers.append(self.backbone_layer(length, length))
        elif self.variant == "attention":
            layers.append(self.attention_ablation())
        hidden = 2 * length * d * self.e  # the layer's input and output hidden states
        maps = 0
        if self.variant == "llm" and not self.c.fast:  # returned attention maps of every layer
            maps = self.c.llm_layers * self.f.heads * length * length * self.e
        protos = self.c.num_tokens * d * self.e
        return protos, max(layers) + hidden + maps

    def prototypes(self) -> int:
        """The mapping's output, once per batch."""
        return self.c.num_tokens * self.f.width * self.e

    def reprogramming_fixed(self) -> int:
        """Keys and values of the prototypes, once per batch and layer."""
        kv = self.c.num_tokens * self.inner
        if self.unfused and self.c.fast:  # CPU math kernel: the scaled keys and the values, float32 inside
            return self.c.e_layers * 2 * kv * self.f32
        return self.c.e_layers * 2 * kv * self.e

    def patches(self) -> int:
        """Conv input (circular padding adds 2 positions) and the dropout mask of the embeddings."""
        c = self.c
        kept = c.patch_len * (self.p + 2) * self.e
        if self.dropout:
            kept += self.p * c.d_model * self.mask
        return kept

    def reprogramming_layer(self, i: int) -> int:
        """One cross-attention layer, per series."""
        c, p, h, k, inner = self.c, self.p, self.c.n_heads, self.c.num_tokens, self.inner
        kept = p * (c.d_model if i == 0 else self.f.width) * self.e  # the query layer's input
        if c.fast and not self.unfused:  # fused: q, output (already in the out projection's layout), log-sum-exp
            return kept + 2 * p * inner * self.e + h * p * 4
        if c.fast:  # CPU math kernel (float32 inside): the scaled q, three probability tensors
            kept += (p * inner + 3 * h * p * k) * self.f32
        else:  # einsum path: q, the probabilities and the second einsum's copy of them (+ the dropout mask)
            probs = h * p * k
            kept += p * inner * self.e + 2 * probs * self.e + (probs * self.mask if self.dropout else 0)
        return kept + p * inner * self.e  # the reshaped output, input of the out projection

    def body(self) -> int:
        """The backbone (or the ablation's attention layer), per series."""
        if self.variant == "no_llm":
            return 0
        if self.variant == "attention":
            return self.attention_ablation()
        prof, d, n = self.profile, self.f.width, self.c.llm_layers
        length, rows, p = self.length, self.queries, self.p  # keys, computed positions, patches
        kept = 0
        if self.c.fast and self.f.family == "bert" and not self.backbone_unfused:
            kept += length * self.f32  # the additive padding mask, shared by the fused kernels
        if prof.embed_norm:
            kept += rows * (d + 2) * self.f32
        if self.hidden_drop and prof.embed_dropout:
            kept += rows * d * self.mask
        last_partial = self.c.fast and self.f.family == "bert"
        for i in range(n):
            queries = p if last_partial and i == n - 1 else rows
            kept += self.backbone_layer(length, queries)
        if prof.final_norm:
            kept += rows * (d + prof.norm_stats) * self.f32
        if not self.c.fast and self.f.family == "bert":
            kept += d * self.e  # the pooler's tanh output
        return kept

    def body_fixed(self) -> int:
        """Batch-independent tensors of the backbone: the rotary cos and sin tables (LLaMA family)."""
        if self.variant != "llm" or not self.profile.rotary:
            return 0
        return 2 * self.queries * (self.f.width // self.f.heads) * self.f32

    def backbone_layer(self, length: int, queries: int) -> int:
        """One frozen layer over ``length`` keys and ``queries`` query positions, per series."""
        prof, d, inner, h = self.profile, self.f.width, self.f.intermediate_size, self.f.heads
        kv = 2 * length * d * self.e  # keys and values are computed at every position
        rows = prof.norms * (d + prof.norm_stats) * self.f32 + inner * prof.ffn * self.e
        probs = h * length  # attention probabilities of one query position
        if self.c.fast and self.backbone_unfused:  # math kernel (float32 inside): q, probs, dropout mask, dropped
            kv = 2 * length * d * self.f32
            kept = kv + queries * (rows + d * self.f32 + probs * 3 * self.f32)
        elif self.c.fast:  # fused: q and output (GPT-2: the packed qkv too), log-sum-exp, the causal mask
            kept = kv + queries * (rows + (prof.attention - 2) * d * self.e + h * 4)
            if prof.causal_mask:
                kept += queries * length * self.f32
        else:  # eager: q, k, v (views of one packed tensor for GPT-2) and the probabilities
            kept = kv + queries * (rows + d * self.e + probs * (self.e + (4 if self.autocast else 0)))
            if self.attention_drop:  # the dropout's mask and the dropped probabilities
                kept += queries * probs * (self.mask + self.e)
        if self.hidden_drop:
            kept += queries * prof.dropout_masks * d * self.mask
        return kept

    def attention_ablation(self) -> int:
        """The trainable self-attention ablation: input, packed q/k/v, output, LayerNorm input."""
        d, p = self.f.width, self.p
        return p * (5 * d * self.e + (d + 2) * self.f32) + attention_heads_for(d) * p * 4

    def head(self) -> int:
        """The flattened features, hidden head layers and output dropout, per series."""
        c = self.c
        width = c.d_ff * self.p
        kept = width * self.e
        # per hidden layer: the activation's kept tensor, and the next layer's input when it is a new
        # tensor (after GELU, or after a dropout, which also keeps its mask)
        separate = self.dropout or (c.activation or "gelu") == "gelu"  # null means GELU
        for _ in range(c.d_layers - 1):
            kept += (2 if separate else 1) * width * self.e + (width * self.mask if self.dropout else 0)
        if self.dropout:
            kept += self.pred_len * self.n_outputs * self.mask
        return kept + self.f32  # RevIN's std, kept by the inverse


def prompt_lengths(config: ModelConfig, seq_len: int, pred_len: int, facts: BackboneFacts, variant: str,
                   given: int | None) -> tuple[int, int]:
    """(prompt tokens per series, tokens of the static head among them).

    Causal families split the prompt (``PromptBuilder(split=True)``): a static head of
    description and task, the same for every series, then the left-padded statistics. The head
    is sized with the tokenizer; without one it counts as 0 (its positions as computed: an
    upper bound).
    """
    if variant != "llm" or not config.prompt:
        return 0, 0
    if given is not None and (isinstance(given, bool) or not isinstance(given, int) or given < 0):
        raise ParamsError(f"prompt_tokens={given!r} is invalid: it must be an integer >= 0, or None to size "
                          "the prompt with the backbone's tokenizer")
    if facts.tokenizer is None:
        if given is None:
            raise ParamsError("prompt_tokens=None needs a tokenizer, but these backbone facts have none; pass "
                              "prompt_tokens=N or read the facts with backbone_facts(backbone)")
        return given, 0
    if facts.family == "bert":  # bidirectional: one prompt, every position computed
        return (PromptBuilder(facts.tokenizer, config.description, seq_len, pred_len).length
                if given is None else given), 0
    builder = PromptBuilder(facts.tokenizer, config.description, seq_len, pred_len, split=True)
    static = int(builder.static_ids.shape[1])
    if given is None:
        return static + builder.length, static
    return given, min(static, given)

"""Memory estimate of one Time-LLM configuration: weights, gradients, optimizer state, activations.

:func:`estimate_memory` adds up, in bytes, what one training step (or one evaluation batch)
holds: the trainable weights (counted exactly from the config), their gradients, the
optimizer state (Adam: two moments per weight), the frozen backbone truncated to
``llm_layers`` (counted exactly from the loaded model), and the activations that autograd
keeps for the backward pass. :func:`max_batch_size` inverts it: the largest batch that fits a
budget. The facts the estimate needs about a backbone (width, intermediate size, heads,
vocabulary, parameters per layer) are read once by :func:`backbone_facts`.

Example:
    >>> from cryptexlab.models.backbones import load_backbone
    >>> from cryptexlab.params import ModelConfig
    >>> facts = backbone_facts(load_backbone("MINILM", llm_layers=6))
    >>> est = estimate_memory(ModelConfig(llm_layers=2), 96, 24, 32, facts)
    >>> est.total == est.trainable_weights + est.gradients + est.optimizer_state + est.frozen_backbone \\
    ...     + est.activations
    True
    >>> max_batch_size(8 * 2**30, ModelConfig(llm_layers=2), 96, 24, facts) > 32
    True

Activations
-----------
The activation figure counts the tensors that autograd saves for the backward pass (what
:func:`saved_activation_bytes` measures), as element counts per series times bytes per
element, derived op by op from PyTorch 2.13 and transformers 5. On the CPU it matches
:func:`saved_activation_bytes` to the byte for the BERT, GPT-2 and LLaMA families in float32
(every kind, ``fast`` on and off, with and without dropout and ``backbone_dropout``), and
within 0.1 % under bf16 autocast. On CUDA the kernels differ in small ways (padded
log-sum-exp and masks, autocast's own casts), so there it is an approximation; see
"Checking the activation estimate on a GPU". The assumptions:

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
:func:`max_batch_size` solves for the batch in closed form.

The total is the steady-state peak of the trainer's loop: it calls ``zero_grad`` after the
forward pass, so the previous step's gradients are alive while the activations pile up.
Not included anywhere: the CUDA context and cuBLAS/cuDNN workspaces (a few hundred MiB per
process, outside ``torch.cuda.memory_allocated``), allocator fragmentation (often 5-20 %),
the data loader's batches, the temporaries of single ops (for instance a backbone layer's
own backward), and under autocast the float32 transposed embedding table (above); keep
15-20 % headroom on a budget.

Checking the activation estimate on a GPU
-----------------------------------------
``benchmarks/memory_estimate.py`` does the following for a few MiniLM configurations and
writes ``benchmarks/results/memory_estimate.json``; by hand::

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
``kept`` holds it, step 1's does not (it is already in ``before``). Compare float32 runs
with ``autocast=False`` and runs under ``torch.autocast("cuda", torch.bfloat16)`` with
``autocast=True``. :func:`saved_activation_bytes` gives the saved-tensor part directly on any
device.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import torch
from torch import nn

from cryptexlab.errors import ParamsError
from cryptexlab.models.backbones import Backbone
from cryptexlab.models.timellm import attention_heads_for, n_patches
from cryptexlab.params import ModelConfig

MIB = 2**20
#: optimizer name -> state tensors per trainable weight
OPTIMIZER_STATES: dict[str, int] = {"adam": 2, "adamw": 2, "sgd": 0, "sgd_momentum": 1}
DEVICES = ("cuda", "cpu")
#: config.kind -> TimeLLM variant (the kinds this estimate covers)
VARIANTS: dict[str, str] = {"timellm": "llm", "timellm_no_llm": "no_llm", "timellm_attention": "attention"}


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


@dataclass(frozen=True)
class BackboneFacts:
    """What the estimate needs to know about a backbone (see :func:`backbone_facts`).

    Attributes:
        name: registry name, hub id or folder.
        family: bert, gpt2, llama, qwen2 or deepseek.
        width: hidden size d_llm.
        intermediate_size: feed-forward width I.
        heads: attention heads.
        vocab_size: rows of the input embedding table (the mapping's input width).
        shared_params: parameters outside the layer list (embeddings, final norm, pooler).
        layer_params: parameters of each layer, in order (as many layers as the backbone had).
        dtype_bytes: bytes per backbone weight.
        hidden_dropout: the backbone's own hidden-state dropout (active only with ``backbone_dropout``).
        attention_dropout: the backbone's own attention dropout (likewise).
        tokenizer: the tokenizer (to size the prompt); None if the caller passes ``prompt_tokens``.
    """

    name: str
    family: str
    width: int
    intermediate_size: int
    heads: int
    vocab_size: int
    shared_params: int
    layer_params: tuple[int, ...]
    dtype_bytes: int = 4
    hidden_dropout: float = 0.0
    attention_dropout: float = 0.0
    tokenizer: Any = field(default=None, compare=False, repr=False)

    @property
    def layers(self) -> int:
        """Number of layers these facts cover (the deepest ``llm_layers`` they can estimate)."""
        return len(self.layer_params)

    def params(self, llm_layers: int) -> int:
        """Parameters of the backbone truncated to its first ``llm_layers`` layers.

        Raises:
            ParamsError: more layers than these facts cover.
        """
        if not 1 <= llm_layers <= self.layers:
            raise ParamsError(
                f"llm_layers={llm_layers} is out of range: the facts of {self.name} cover {self.layers} layer(s); "
                f"read them from a backbone loaded with llm_layers >= {llm_layers} "
                f"(backbone_facts(load_backbone(name, {llm_layers})))"
            )
        return self.shared_params + sum(self.layer_params[:llm_layers])


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes one Time-LLM configuration holds during a training step (or an evaluation batch).

    ``activations == activations_fixed + batch_size * activations_per_sample`` exactly.
    """

    batch_size: int
    trainable_params: int
    frozen_params: int
    trainable_weights: int
    gradients: int
    optimizer_state: int
    frozen_backbone: int
    activations: int
    activations_fixed: int
    activations_per_sample: int
    training: bool = True

    @property
    def total(self) -> int:
        """Sum of the five components, in bytes."""
        return (self.trainable_weights + self.gradients + self.optimizer_state + self.frozen_backbone
                + self.activations)

    def to_dict(self) -> dict[str, float | int | bool]:
        """Components in MiB (keys ending in ``_mib``), plus the batch, the parameter counts and the mode."""
        out: dict[str, float | int | bool] = {"batch_size": self.batch_size, "training": self.training,
                                              "trainable_params": self.trainable_params,
                                              "frozen_params": self.frozen_params}
        for f in fields(self):
            if f.name not in out:
                out[f"{f.name}_mib"] = round(getattr(self, f.name) / MIB, 3)
        out["total_mib"] = round(self.total / MIB, 3)
        return out

    def explain(self) -> str:
        """A short human-readable breakdown."""
        mode = "training step" if self.training else "evaluation batch"
        rows = [("trainable weights", self.trainable_weights, f"{self.trainable_params:,} params"),
                ("gradients", self.gradients, ""),
                ("optimizer state", self.optimizer_state, ""),
                ("frozen backbone", self.frozen_backbone, f"{self.frozen_params:,} params"),
                ("activations", self.activations, f"{self.activations_fixed / MIB:.1f} MiB fixed + "
                 f"{self.batch_size} x {self.activations_per_sample / MIB:.2f} MiB per sample"),
                ("total", self.total, "")]
        lines = [f"Time-LLM memory, one {mode} of batch {self.batch_size}:"]
        lines += [f"  {name:18s} {size / MIB:10.1f} MiB  {note}".rstrip() for name, size, note in rows]
        lines.append("  (not included: CUDA context, workspaces, fragmentation; keep 15-20 % headroom)")
        return "\n".join(lines)


def backbone_facts(backbone: Backbone) -> BackboneFacts:
    """Read the sizes the estimate needs from a loaded backbone view.

    Only the view's own layers are counted, so facts read from a backbone loaded with the
    most layers you will try cover every shallower ``llm_layers``.

    Example:
        >>> from cryptexlab.models.backbones import load_backbone
        >>> facts = backbone_facts(load_backbone("MINILM", llm_layers=6))
        >>> facts.width, facts.intermediate_size, facts.heads, facts.vocab_size, facts.layers
        (384, 1536, 12, 30522, 6)
    """
    config = backbone.model.config
    width = backbone.width
    inner = getattr(config, "intermediate_size", None) or getattr(config, "n_inner", None) or 4 * width
    in_layers = {id(p) for layer in backbone.layers for p in layer.parameters()}
    shared = sum(p.numel() for p in backbone.model.parameters() if id(p) not in in_layers)
    embeddings = backbone.word_embeddings().weight
    hidden_drop = _first(config, "hidden_dropout_prob", "resid_pdrop", "hidden_dropout")
    attention_drop = _first(config, "attention_probs_dropout_prob", "attn_pdrop", "attention_dropout")
    return BackboneFacts(
        name=backbone.name, family=backbone.family, width=width, intermediate_size=int(inner),
        heads=int(config.num_attention_heads), vocab_size=int(embeddings.shape[0]), shared_params=shared,
        layer_params=tuple(sum(p.numel() for p in layer.parameters()) for layer in backbone.layers),
        dtype_bytes=embeddings.element_size(), hidden_dropout=hidden_drop, attention_dropout=attention_drop,
        tokenizer=backbone.tokenizer,
    )


def _first(config: Any, *names: str) -> float:
    """The first of the named config attributes that is set (a dropout probability), else 0."""
    for name in names:
        value = getattr(config, name, None)
        if isinstance(value, (int, float)):
            return float(value)
    return 0.0


def trainable_parameters(config: ModelConfig, seq_len: int, pred_len: int, width: int, vocab_size: int,
                         n_outputs: int = 1) -> int:
    """Exact number of trainable parameters of ``TimeLLM`` (any of the three kinds), by formula.

    Patch embedding Conv1d(patch_len -> d_model, kernel 3, no bias); mapping
    Linear(vocab -> num_tokens) (its weight stored transposed); ``e_layers`` reprogramming layers (query from d_model for
    the first, d_llm after; key and value from d_llm; out to d_llm; inner width
    d_ff * n_heads); head: ``d_layers - 1`` square layers of width d_ff * P, then one to
    pred_len * n_outputs; the attention ablation adds a multi-head attention and a LayerNorm
    of width d_llm. Every linear layer has a bias.

    Example:
        >>> trainable_parameters(ModelConfig(), seq_len=96, pred_len=24, width=384, vocab_size=30522)
        30833168
    """
    variant = _variant(config)
    p = n_patches(config, seq_len)
    inner = config.d_ff * config.n_heads
    total = config.patch_len * config.d_model * 3
    total += vocab_size * config.num_tokens + config.num_tokens
    for i in range(config.e_layers):
        d_query = config.d_model if i == 0 else width
        total += (d_query + 1) * inner + 2 * (width + 1) * inner + (inner + 1) * width
    head = config.d_ff * p
    total += (config.d_layers - 1) * (head + 1) * head + (head + 1) * pred_len * n_outputs
    if variant == "attention":
        total += 4 * width * width + 4 * width + 2 * width
    return total


def estimate_memory(config: ModelConfig, seq_len: int, pred_len: int, batch_size: int, backbone: BackboneFacts, *,
                    prompt_tokens: int | None = None, channels: int = 1, n_outputs: int = 1, dtype_bytes: int = 4,
                    backbone_dtype_bytes: int | None = None, autocast: bool = False, training: bool = True,
                    optimizer: str = "adam", device: str = "cuda") -> MemoryEstimate:
    """Estimate the memory of one Time-LLM training step (or evaluation batch).

    Args:
        config: The model section (kind timellm, timellm_no_llm or timellm_attention).
        seq_len: Input steps.
        pred_len: Forecast steps.
        batch_size: Windows per batch (B); each holds ``channels`` series.
        backbone: Facts of the backbone (:func:`backbone_facts`), covering ``config.llm_layers``.
        prompt_tokens: Prompt length per series, for a causal backbone the static head included;
            None sizes it with the backbone's tokenizer (0 when the config has no prompt or the
            kind is an ablation). The static head's length is read from the tokenizer; facts
            without one count its positions as computed (an upper bound with ``fast``).
        channels: Series per window (the trainer feeds only the target: 1).
        n_outputs: Outputs per step (the quantile loss: one per quantile).
        dtype_bytes: Bytes per trainable weight, gradient and optimizer state element (and per
            activation element without autocast).
        backbone_dtype_bytes: Bytes per frozen backbone weight; None reads the facts.
        autocast: bf16 mixed precision (what the trainer does on CUDA); see the module docstring.
        training: False estimates one evaluation batch under ``torch.no_grad`` (no gradients,
            no optimizer state, one layer's working set).
        optimizer: adam, adamw (2 states per weight), sgd (none) or sgd_momentum (1).
        device: cuda or cpu; decides which attention kernel the reprogramming layers get when
            training with dropout (fused on CUDA, unfused on the CPU).

    Returns:
        The estimate; ``activations == activations_fixed + batch_size * activations_per_sample``.

    Raises:
        ParamsError: a non-positive batch, sizes or byte counts, an unknown optimizer or device,
            a baseline kind, or a config deeper than the facts cover.

    Example:
        >>> from cryptexlab.models.backbones import load_backbone
        >>> facts = backbone_facts(load_backbone("MINILM", llm_layers=2))
        >>> est = estimate_memory(ModelConfig(llm_layers=2), 96, 24, 32, facts)
        >>> est.optimizer_state == 2 * est.trainable_weights
        True
    """
    _check_positive(batch_size=batch_size)
    fixed, per_sample, trainable, frozen_params, frozen_bytes = _components(
        config, seq_len, pred_len, backbone, prompt_tokens=prompt_tokens, channels=channels, n_outputs=n_outputs,
        dtype_bytes=dtype_bytes, backbone_dtype_bytes=backbone_dtype_bytes, autocast=autocast, training=training,
        device=device)
    states = _optimizer_states(optimizer)
    weights = trainable * dtype_bytes
    return MemoryEstimate(
        batch_size=batch_size, trainable_params=trainable, frozen_params=frozen_params,
        trainable_weights=weights, gradients=weights if training else 0,
        optimizer_state=states * weights if training else 0, frozen_backbone=frozen_bytes,
        activations=fixed + batch_size * per_sample, activations_fixed=fixed, activations_per_sample=per_sample,
        training=training,
    )


def max_batch_size(budget_bytes: int | float, config: ModelConfig, seq_len: int, pred_len: int,
                   backbone: BackboneFacts, **options: Any) -> int:
    """The largest batch whose :func:`estimate_memory` total fits ``budget_bytes``.

    Activations are exactly linear in the batch, so this is closed form: the returned B has
    ``estimate(B).total <= budget < estimate(B + 1).total``. A budget too small for even one
    window returns 0 (not an error: a search can then skip the configuration).

    Args:
        budget_bytes: Memory available, in bytes (e.g. ``0.8 * total GPU memory``).
        config, seq_len, pred_len, backbone: As for :func:`estimate_memory`.
        **options: The keyword options of :func:`estimate_memory` (channels, autocast, ...).

    Raises:
        ParamsError: a negative or non-finite budget, or anything :func:`estimate_memory` rejects.

    Example:
        >>> from cryptexlab.models.backbones import load_backbone
        >>> facts = backbone_facts(load_backbone("MINILM", llm_layers=2))
        >>> max_batch_size(2**20, ModelConfig(llm_layers=2), 96, 24, facts)  # 1 MiB: not even the weights
        0
    """
    if not isinstance(budget_bytes, (int, float)) or isinstance(budget_bytes, bool) \
            or not budget_bytes >= 0 or budget_bytes == float("inf"):
        raise ParamsError(f"budget_bytes={budget_bytes!r} is invalid: it must be a finite number of bytes >= 0, "
                          "e.g. 0.8 * torch.cuda.get_device_properties(0).total_memory")
    base = estimate_memory(config, seq_len, pred_len, 1, backbone, **options)
    per_sample = base.activations_per_sample  # > 0: the head's input alone is per sample
    fixed = base.total - per_sample
    # totals are integers, so total <= budget exactly when total <= floor(budget)
    return max(0, (int(budget_bytes) - fixed) // per_sample)


def saved_activation_bytes(model: nn.Module, *inputs: torch.Tensor) -> int:
    """Bytes of the tensors autograd saves in one forward pass, parameters excluded.

    Storages are counted once (views share them). Runs the model's forward in its current
    mode and discards the graph. Works on any device; it is what the activation part of
    :func:`estimate_memory` models.

    Example:
        >>> # Linear keeps its (2 x 4) input for the weight's gradient, ReLU its (2 x 8) output
        >>> saved_activation_bytes(nn.Sequential(nn.Linear(4, 8), nn.ReLU()), torch.randn(2, 4))
        96
    """
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    backbone = getattr(model, "backbone", None)
    if backbone is not None:
        weights |= {p.untyped_storage().data_ptr() for p in backbone.model.parameters()}
    kept: dict[int, torch.Tensor] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        ptr = t.untyped_storage().data_ptr()
        if ptr not in weights:
            kept[ptr] = t
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(*inputs)
    total = sum(t.untyped_storage().nbytes() for t in kept.values())
    del out
    return total


# ----------------------------------------------------------------------------- internals


def _components(config: ModelConfig, seq_len: int, pred_len: int, facts: BackboneFacts, *, prompt_tokens: int | None,
                channels: int, n_outputs: int, dtype_bytes: int, backbone_dtype_bytes: int | None, autocast: bool,
                training: bool, device: str) -> tuple[int, int, int, int, int]:
    """(fixed activation bytes, activation bytes per sample, trainable params, frozen params, frozen bytes)."""
    variant = _variant(config)
    _check_positive(seq_len=seq_len, pred_len=pred_len, channels=channels, n_outputs=n_outputs)
    _check_bytes(dtype_bytes=dtype_bytes)
    bb_bytes = facts.dtype_bytes if backbone_dtype_bytes is None else backbone_dtype_bytes
    _check_bytes(backbone_dtype_bytes=bb_bytes)
    if device not in DEVICES:
        raise ParamsError(f"device={device!r} is not supported: use one of {', '.join(DEVICES)}")
    if config.patch_len > seq_len:
        raise ParamsError(f"patch_len={config.patch_len} must be at most seq_len={seq_len}; lower model.patch_len")
    if facts.family not in LAYER_PROFILES:
        raise ParamsError(f"backbone family {facts.family!r} has no layer profile; known: "
                          f"{', '.join(sorted(LAYER_PROFILES))}")
    frozen_params = facts.params(config.llm_layers)
    trainable = trainable_parameters(config, seq_len, pred_len, facts.width, facts.vocab_size, n_outputs)
    prompt, static = _prompt_tokens(config, seq_len, pred_len, facts, variant, prompt_tokens)
    a = _Activations(config, seq_len, pred_len, facts, variant, prompt, static, n_outputs, dtype_bytes, autocast,
                     device, training)
    fixed, per_series = a.training_set() if training else a.eval_set()
    table = facts.vocab_size * facts.width  # the transposed embedding table, the mapping's input
    if autocast and training:
        # bf16 copies that autograd keeps: the weights of every matmul whose input needs a gradient
        # (all trainable ones except the mapping's and the patch convolution's, whose inputs are
        # frozen; the used backbone layers, counted with their small biases and norms), and the
        # transposed embedding table that is the mapping's input (the float32 table is not saved)
        frozen_inputs = facts.vocab_size * config.num_tokens + config.num_tokens + config.patch_len * config.d_model * 3
        copies = trainable - frozen_inputs + table
        if variant == "llm":
            copies += sum(facts.layer_params[:config.llm_layers])
        fixed += 2 * copies
    else:
        # the transposed table itself (a per-process copy, not a parameter): the mapping's addmm
        # keeps it for the weight's gradient; under no_grad it is alive all the same
        fixed += table * bb_bytes
    return fixed, channels * per_series, trainable, frozen_params, frozen_params * bb_bytes


class _Activations:
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


def _prompt_tokens(config: ModelConfig, seq_len: int, pred_len: int, facts: BackboneFacts, variant: str,
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
    from cryptexlab.models.prompt import PromptBuilder

    if facts.family == "bert":  # bidirectional: one prompt, every position computed
        return (PromptBuilder(facts.tokenizer, config.description, seq_len, pred_len).length
                if given is None else given), 0
    builder = PromptBuilder(facts.tokenizer, config.description, seq_len, pred_len, split=True)
    static = int(builder.static_ids.shape[1])
    if given is None:
        return static + builder.length, static
    return given, min(static, given)


def _variant(config: ModelConfig) -> str:
    if config.kind not in VARIANTS:
        raise ParamsError(f"model.kind={config.kind!r}: memory estimates cover the Time-LLM kinds only "
                          f"({', '.join(VARIANTS)}); the baselines are small enough not to need one")
    return VARIANTS[config.kind]


def _optimizer_states(optimizer: str) -> int:
    if optimizer not in OPTIMIZER_STATES:
        raise ParamsError(f"optimizer={optimizer!r} is unknown: use one of {', '.join(OPTIMIZER_STATES)}")
    return OPTIMIZER_STATES[optimizer]


_MEANING = {"batch_size": "windows per batch", "seq_len": "input steps", "pred_len": "forecast steps",
            "channels": "series per window", "n_outputs": "outputs per forecast step"}


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ParamsError(f"{name}={value!r} is invalid: {name} ({_MEANING[name]}) must be an integer >= 1; "
                              f"pass e.g. {name}=1")


def _check_bytes(**values: int) -> None:
    for name, value in values.items():
        if value not in (1, 2, 4, 8) or isinstance(value, bool):
            raise ParamsError(f"{name}={value!r} is invalid: bytes per element must be 1, 2, 4 or 8 "
                              "(float32: 4, bfloat16/float16: 2)")


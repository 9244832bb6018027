"""The memory estimate: trainable parameters by formula, the components in bytes, the largest batch."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from cryptexlab.errors import ParamsError
from cryptexlab.memory._activations import LAYER_PROFILES, ActivationModel, prompt_lengths
from cryptexlab.memory._facts import BackboneFacts
from cryptexlab.models.timellm import n_patches
from cryptexlab.params import TIMELLM_VARIANTS, ModelConfig

MIB = 2**20
#: optimizer name -> state tensors per trainable weight
OPTIMIZER_STATES: dict[str, int] = {"adam": 2, "adamw": 2, "sgd": 0, "sgd_momentum": 1}
DEVICES = ("cuda", "cpu")


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


def trainable_parameters(config: ModelConfig, seq_len: int, pred_len: int, width: int, vocab_size: int,
                         n_outputs: int = 1, n_covariates: int = 0) -> int:
    """Exact number of trainable parameters of ``TimeLLM`` (any of the three kinds), by formula.

    Patch embedding Conv1d(patch_len -> d_model, kernel 3, no bias); mapping
    Linear(vocab -> num_tokens) (its weight stored transposed); ``e_layers`` reprogramming layers (query from d_model for
    the first, d_llm after; key and value from d_llm; out to d_llm; inner width
    d_ff * n_heads); head: ``d_layers - 1`` square layers of width d_ff * P, then one to
    pred_len * n_outputs; the attention ablation adds a multi-head attention and a LayerNorm
    of width d_llm. Every linear layer has a bias. With ``n_covariates`` C (``model.covariates``), the
    covariate encoder: Linear(patch_len * C -> d_model), Linear(P * d_model -> pred_len * n_outputs)
    and Linear(C -> pred_len * n_outputs).

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
    if n_covariates:
        out = pred_len * n_outputs
        total += (config.patch_len * n_covariates + 1) * config.d_model + (p * config.d_model + 1) * out
        total += (n_covariates + 1) * out
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
        autocast: bf16 mixed precision (what the trainer does on CUDA); see :mod:`cryptexlab.memory._activations`.
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
        >>> from cryptexlab.memory import backbone_facts
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
        >>> from cryptexlab.memory import backbone_facts
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
    prompt, static = prompt_lengths(config, seq_len, pred_len, facts, variant, prompt_tokens)
    a = ActivationModel(config, seq_len, pred_len, facts, variant, prompt, static, n_outputs, dtype_bytes, autocast,
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


def _variant(config: ModelConfig) -> str:
    if config.kind not in TIMELLM_VARIANTS:
        raise ParamsError(f"model.kind={config.kind!r}: memory estimates cover the Time-LLM kinds only "
                          f"({', '.join(TIMELLM_VARIANTS)}); the baselines are small enough not to need one")
    return TIMELLM_VARIANTS[config.kind]


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

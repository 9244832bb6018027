"""What the memory estimate needs to know about a backbone, read once from a loaded view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptexlab.errors import ParamsError
from cryptexlab.models.backbones import Backbone


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
    config: Any = backbone.model.config  # a transformers PretrainedConfig (the model is typed as a Module)
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

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

The total is the steady-state peak of the trainer's loop: it calls ``zero_grad`` after the
forward pass, so the previous step's gradients are alive while the activations pile up.
Not included anywhere: the CUDA context and cuBLAS/cuDNN workspaces (a few hundred MiB per
process, outside ``torch.cuda.memory_allocated``), allocator fragmentation (often 5-20 %),
the data loader's batches, the temporaries of single ops (for instance a backbone layer's
own backward), and under autocast the float32 transposed embedding table (see the
prototypes in :mod:`cryptexlab.memory._activations`); keep
15-20 % headroom on a budget.

Checking the activation estimate on a GPU
-----------------------------------------
``benchmarks/memory_gpu_check.py`` measures one configuration by hand: two CUDA training steps
(the recipe is in its docstring), printed beside the estimate, nothing written.
``benchmarks/memory_estimate.py`` runs the same measurement over a grid of MiniLM configurations
and writes ``benchmarks/results/memory_estimate.json``. :func:`saved_activation_bytes` gives the
saved-tensor part directly on any device.

=================  ===========================================================================
module             what it holds
=================  ===========================================================================
``_facts``         :class:`BackboneFacts`, :func:`backbone_facts`
``_activations``   the activation model (:class:`LayerProfile` per backbone family) and its
                   assumptions, op by op
``_estimate``      :class:`MemoryEstimate`, :func:`trainable_parameters`,
                   :func:`estimate_memory`, :func:`max_batch_size`
``_measure``       :func:`saved_activation_bytes`
=================  ===========================================================================
"""

from cryptexlab.memory._activations import LAYER_PROFILES, LayerProfile
from cryptexlab.memory._estimate import (
    DEVICES,
    MIB,
    OPTIMIZER_STATES,
    MemoryEstimate,
    estimate_memory,
    max_batch_size,
    trainable_parameters,
)
from cryptexlab.memory._facts import BackboneFacts, backbone_facts
from cryptexlab.memory._measure import saved_activation_bytes
from cryptexlab.models.timellm import n_patches

__all__ = [
    "DEVICES",
    "LAYER_PROFILES",
    "MIB",
    "OPTIMIZER_STATES",
    "BackboneFacts",
    "LayerProfile",
    "MemoryEstimate",
    "backbone_facts",
    "estimate_memory",
    "max_batch_size",
    "n_patches",
    "saved_activation_bytes",
    "trainable_parameters",
]

"""A model's shapes without its memory: parameter counts and names read off the meta device.

The training form counts parameters on every rerun and a checkpoint's tensors are checked
against the model's own names before any weight is read, so both need a model that holds no
weights, even for gpt2-xl. The meta device gives exactly that, with one catch: torch fills
meta parameters through Python reference implementations of its initialisers, and the first
call imports torch._dynamo (about 80 MB more for the server, which never compiles anything).
Shapes don't depend on initial values, so the initialisers are skipped.
"""

from __future__ import annotations

import dataclasses
import functools

import torch
from torch.overrides import TorchFunctionMode

from minigpt.config import GPTConfig
from minigpt.model import GPT

# In-place initialisers that nn.Module constructors and GPT._init_weights call.
_INITIALISERS = frozenset(
    {
        "normal_",
        "uniform_",
        "zero_",
        "zeros_",
        "ones_",
        "fill_",
        "constant_",
        "trunc_normal_",
        "kaiming_uniform_",
        "kaiming_normal_",
        "xavier_uniform_",
        "xavier_normal_",
    }
)


class _SkipInit(TorchFunctionMode):
    """Initialisers leave the tensor as it is; every other call runs as usual."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") in _INITIALISERS:
            return args[0] if args else kwargs["tensor"]
        return func(*args, **kwargs)


# Encodings whose only state is a position table kept out of the state dict (a non-persistent
# buffer): they add no weight, so a model without them has the same names, shapes and ties.
_TABLE_ONLY = frozenset({"sinusoidal", "rope", "alibi"})


def meta_model(config: GPTConfig) -> GPT:
    """A GPT of this config's weights on the meta device: every name, shape and tie, no memory.

    Built without its position table (see _TABLE_ONLY): on the meta device the table's
    arithmetic goes through torch's Python references, and their first use imports torch's
    compiler and sympy, about 70 MB more for the server (benchmarks/RESULTS.md).
    Example: meta_model(cfg).lm_head.weight.is_meta -> True
    """
    if config.pos_emb in _TABLE_ONLY:
        config = dataclasses.replace(config, pos_emb="none")
    with torch.device("meta"), _SkipInit():
        return GPT(config)


def param_breakdown(config: GPTConfig) -> dict[str, int]:
    """Parameters by role (embeddings, attention, mlp, norms), counted on the meta device.

    Building the modules still takes tens of milliseconds, so counts are remembered per config
    (the training page asks on every rerun).
    Example: sum(param_breakdown(GPTConfig.preset("gpt2-small")).values()) == 124_439_808.
    """
    return dict(_breakdown(config))


@functools.lru_cache(maxsize=256)
def _breakdown(config: GPTConfig) -> tuple[tuple[str, int], ...]:
    model = meta_model(config)
    parts = {"embeddings": 0, "attention": 0, "mlp": 0, "layernorm": 0}
    for name, p in model.named_parameters():  # shared (tied) parameters are listed once
        if name.startswith(("wte", "wpe")):
            parts["embeddings"] += p.numel()
        elif ".attn." in name:
            parts["attention"] += p.numel()
        elif ".mlp." in name:
            parts["mlp"] += p.numel()
        else:
            parts["layernorm"] += p.numel()
    return tuple(parts.items())


def count_params(config: GPTConfig) -> int:
    """Total parameters of a config without building it. Example: count_params(cfg) > 0."""
    return sum(param_breakdown(config).values())

"""Looking inside: named identity modules and a context manager that captures what passes them.

The idea comes from TransformerLens's hook points, pared down: a `Probe` returns its input
unchanged; `capture(model)` hooks every probe for the length of a `with` block and always
removes the hooks again, so a model shared between Streamlit sessions never keeps state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


class Probe(nn.Identity):
    """A named place in the model where an intermediate tensor can be watched."""

    @property
    def active(self) -> bool:
        """Someone is watching: the attention module takes its explicit (non-fused) path."""
        return bool(self._forward_hooks)


@contextmanager
def capture(model: nn.Module) -> Iterator[dict[str, torch.Tensor]]:
    """Record every probe's output (detached) under its module name while the block runs.

    Example:
        with capture(model) as seen:
            model(idx)
        seen["h.0.attn.probs"].shape  # (B, nh, T, T)
    """
    seen: dict[str, torch.Tensor] = {}
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, Probe):

            def record(_mod, _inp, out, name=name):
                seen[name] = out.detach()

            handles.append(module.register_forward_hook(record))
    try:
        yield seen
    finally:
        for handle in handles:
            handle.remove()


@torch.no_grad()
def attention_maps(model: nn.Module, idx: torch.Tensor) -> torch.Tensor:
    """Every layer's every head's attention probabilities: (n_layer, B, n_head, T, T).

    Runs in eval mode (no dropout) and puts the model back as it was.
    """
    was_training = model.training
    model.eval()
    try:
        with capture(model) as seen:
            model(idx)
    finally:
        model.train(was_training)
    return torch.stack([seen[f"h.{i}.attn.probs"] for i in range(len(model.h))])

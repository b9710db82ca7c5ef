"""Looking inside: named identity modules and a context manager that captures what passes them.

The idea comes from TransformerLens's hook points, pared down: a `Probe` returns its input
unchanged; inside `with capture(model) as seen:` every probe of that model also records what
passes it into `seen`. What is being watched lives in a context variable, not on the modules:
each thread (each Streamlit session's script run) has its own, so many sessions can look
inside one shared, read-only model at once, and nothing is left on the model afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch
from torch import nn

# Probes being watched by this thread: id(probe) -> (its name in the model, where it records).
_WATCHED: ContextVar[dict[int, tuple[str, dict[str, torch.Tensor]]] | None] = ContextVar(
    "minigpt_probes_watched", default=None
)


def _watched() -> dict[int, tuple[str, dict[str, torch.Tensor]]]:
    return _WATCHED.get() or {}


class Probe(nn.Identity):
    """A named place in the model where an intermediate tensor can be watched."""

    @property
    def active(self) -> bool:
        """Someone is watching: the attention module takes its explicit (non-fused) path."""
        return id(self) in _watched()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        watched = _watched().get(id(self))
        if watched is not None:
            name, seen = watched
            seen[name] = x.detach()
        return x


@contextmanager
def capture(model: nn.Module) -> Iterator[dict[str, torch.Tensor]]:
    """Record every probe's output (detached) under its module name while the block runs.

    Only the calling thread's forward passes record; the model itself is not changed.
    Example:
        with capture(model) as seen:
            model(idx)
        seen["h.0.attn.probs"].shape  # (B, nh, T, T)
    """
    seen: dict[str, torch.Tensor] = {}
    mine = {id(m): (name, seen) for name, m in model.named_modules() if isinstance(m, Probe)}
    token = _WATCHED.set({**_watched(), **mine})
    try:
        yield seen
    finally:
        _WATCHED.reset(token)


@torch.no_grad()
def attention_maps(model: nn.Module, idx: torch.Tensor) -> torch.Tensor:
    """Every layer's every head's attention probabilities: (n_layer, B, n_head, T, T).

    Runs in eval mode (no dropout). A model already in eval mode (every shared one) is not
    touched at all; one in training mode is switched for the pass and put back.
    """
    was_training = model.training
    if was_training:
        model.eval()
    try:
        with capture(model) as seen:
            model(idx)
    finally:
        if was_training:
            model.train()
    return torch.stack([seen[f"h.{i}.attn.probs"] for i in range(len(model.h))])

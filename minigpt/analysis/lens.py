"""The logit lens: what the model would predict if it stopped after each block.

The residual stream after block l goes through the final LayerNorm and the unembedding, just
as the last block's output does; after the last block this is the model's own prediction.
The stream is caught with forward hooks on the blocks, added from outside for the length of
one pass and always removed, so the model itself is never changed. A hook fires for every
forward pass through the model, including other threads' (Streamlit sessions share a model),
so it records only the passes of the thread that set it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from threading import get_ident

import torch
from torch import nn


@dataclass(frozen=True)
class LogitLens:
    """Each layer's reading of each position of one sequence (L layers, T positions)."""

    top_ids: torch.Tensor  # (L, T, k) the likeliest next tokens at layer l, position t
    top_probs: torch.Tensor  # (L, T, k) their probabilities, descending
    final_ids: torch.Tensor  # (T,) the model's own pick at each position (the last layer's top)
    final_rank: torch.Tensor  # (L, T) rank of that pick at each layer (0 = already the top)
    final_prob: torch.Tensor  # (L, T) its probability at each layer


@contextmanager
def residual_stream(model: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Collect the output of every block of model.h (each (B, T, C)) during a forward pass
    made by this thread.

    Example:
        with residual_stream(model) as stream:
            model(idx)
        len(stream) == model.config.n_layer
    """
    stream: list[torch.Tensor] = []
    me = get_ident()

    def record(_mod, _inp, out: torch.Tensor) -> None:
        if get_ident() == me:
            stream.append(out.detach())

    handles = [block.register_forward_hook(record) for block in model.h]
    try:
        yield stream
    finally:
        for handle in handles:
            handle.remove()


def lens_logits(model: nn.Module, residual: torch.Tensor) -> torch.Tensor:
    """Decode a residual stream (..., C) as the model decodes its last one: (..., V)."""
    return model.lm_head(model.ln_f(residual))


@torch.inference_mode()
def logit_lens(model: nn.Module, ids: list[int], k: int = 5) -> LogitLens:
    """The lens over ids (at most block_size of them): top-k and the final pick's rank per layer."""
    if not ids:
        raise ValueError("the lens needs at least one token")
    if len(ids) > model.config.block_size:
        raise ValueError(f"{len(ids)} tokens is more than the context ({model.config.block_size})")
    was_training = model.training
    model.eval()
    try:
        with residual_stream(model) as stream:
            model(torch.tensor([ids]))
    finally:
        model.train(was_training)
    final_ids = lens_logits(model, stream[-1][0]).argmax(-1)  # (T,)
    top_ids, top_probs, final_rank, final_prob = [], [], [], []
    for residual in stream:  # one layer at a time: (T, V) each, never (L, T, V) at once
        probs = torch.softmax(lens_logits(model, residual[0]).float(), dim=-1)  # (T, V)
        values, idx = probs.topk(min(k, probs.size(-1)), dim=-1)  # (T, k)
        pick = probs.gather(-1, final_ids[:, None])  # (T, 1)
        top_ids.append(idx)
        top_probs.append(values)
        final_prob.append(pick[:, 0])
        final_rank.append((probs > pick).sum(-1))  # tokens strictly likelier than the pick
    return LogitLens(
        torch.stack(top_ids),
        torch.stack(top_probs),
        final_ids,
        torch.stack(final_rank),
        torch.stack(final_prob),
    )

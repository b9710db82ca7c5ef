"""Turning logits into text: temperature, top-k, top-p, and a step-by-step view of each choice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from minigpt.kvcache import KVCache


@dataclass(frozen=True)
class SamplingConfig:
    """The sidebar's sampling settings; frozen so it can key a cache."""

    temperature: float = 0.8
    top_k: int | None = None
    top_p: float | None = None
    max_new_tokens: int = 200
    seed: int = 1337


@dataclass(frozen=True)
class TokenStep:
    """One generated token and the candidates it was chosen from (token id, probability)."""

    token: int
    prob: float  # probability of the chosen token after filtering
    before: list[tuple[int, float]]  # top candidates of the raw softmax (temperature 1)
    after: list[tuple[int, float]]  # top candidates after temperature, top-k and top-p


def filter_probs(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> torch.Tensor:
    """Next-token probabilities (..., V) after temperature, top-k and top-p.

    Temperature 0 means greedy: all mass on the argmax. top-k keeps the k likeliest tokens;
    top-p keeps the smallest set whose probability reaches p (always at least one token).
    Example: filter_probs(logits, top_k=1) is one-hot at logits.argmax(-1).
    """
    logits = logits.float()
    if temperature <= 0:
        return nn.functional.one_hot(logits.argmax(-1), logits.size(-1)).float()
    logits = logits / temperature
    if top_k is not None and 0 < top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]  # (..., 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if top_p is not None and top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        # Mass strictly before each token: a token stays if the set before it has not reached p.
        before = sorted_probs.cumsum(-1) - sorted_probs
        drop_sorted = before >= top_p
        drop_sorted[..., 0] = False  # the likeliest token always stays, even for p = 0
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        probs = probs.masked_fill(drop, 0.0)
        probs = probs / probs.sum(-1, keepdim=True)
    return probs


def _context(model: nn.Module, idx: torch.Tensor) -> torch.Tensor:
    # Keep the last block_size tokens: a learned table has no rows past it, and the other
    # schemes were never trained past it either, so the window is the model's comfort zone.
    return idx[:, -model.config.block_size :]


def _next_logits(model: nn.Module, idx: torch.Tensor, cache: KVCache) -> torch.Tensor:
    """Logits for the token after idx (B, T): (B, V), feeding in only what the cache lacks.

    The cache is exact only while the whole sequence fits in block_size. Past that the
    context is a sliding window: each step drops the oldest token, which shifts every
    remaining position (learned, sinusoidal) and removes a token all of them attended to
    (every scheme), so every hidden state in the window changes and no cached key or value
    is still right. From then on each token costs a full forward over the window, as it
    would without a cache.
    """
    if idx.size(1) > model.config.block_size:
        logits, _ = model(_context(model, idx))
    else:
        logits, _ = model(idx[:, len(cache) :], cache=cache)
    return logits[:, -1, :]


# inference_mode, not no_grad: it also skips autograd's version counting, 15% of a short
# model's generation step; the ids it returns are only ever decoded.
@torch.inference_mode()
def generate(
    model: nn.Module,
    idx: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Extend idx (B, T) by max_new_tokens sampled tokens: (B, T + max_new_tokens).

    Keys and values are cached within this call, so each token costs one position's work
    until the sequence outgrows block_size (see _next_logits).
    """
    was_training = model.training
    model.eval()
    cache = KVCache.empty(model.config.n_layer)  # this call's own: the model stays stateless
    try:
        for _ in range(max_new_tokens):
            logits = _next_logits(model, idx, cache)
            probs = filter_probs(logits, temperature, top_k, top_p)  # (B, V)
            nxt = torch.multinomial(probs, 1, generator=generator)  # (B, 1)
            idx = torch.cat((idx, nxt), dim=1)
    finally:
        model.train(was_training)
    return idx


@torch.inference_mode()
def generate_steps(
    model: nn.Module,
    idx: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
    n_candidates: int = 5,
) -> Iterator[TokenStep]:
    """Like `generate` for one sequence (1, T), yielding each choice with its candidates."""
    was_training = model.training
    model.eval()
    cache = KVCache.empty(model.config.n_layer)  # this call's own: the model stays stateless
    try:
        for _ in range(max_new_tokens):
            last = _next_logits(model, idx, cache)[0]  # (V,)
            raw = torch.softmax(last.float(), dim=-1)
            probs = filter_probs(last, temperature, top_k, top_p)
            token = int(torch.multinomial(probs, 1, generator=generator))
            yield TokenStep(
                token, float(probs[token]), _top(raw, n_candidates), _top(probs, n_candidates)
            )
            idx = torch.cat((idx, torch.tensor([[token]], device=idx.device)), dim=1)
    finally:
        model.train(was_training)


def _top(probs: torch.Tensor, n: int) -> list[tuple[int, float]]:
    values, ids = probs.topk(min(n, probs.numel()))
    return [(int(i), float(v)) for i, v in zip(ids, values, strict=True) if v > 0]

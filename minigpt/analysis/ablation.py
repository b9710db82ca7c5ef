"""Switch heads off and see what the model loses: causal evidence beside the attention scores.

A head's output is the (B, T, hs) slice of what enters its layer's output projection `c_proj`,
heads side by side in the width C. A forward pre-hook on `c_proj` rewrites that slice while a
`with ablate(...)` block runs: zero (the head says nothing) or its mean output over a reference
text (the head says what it says on average, so only its token-specific information is lost).
The hooks always come off again, so a model shared between sessions is never left ablated, and
while they are on they act only on the passes of the thread that set them: Streamlit sessions
share one read-only model, and one student's ablation must not reach another's forward pass.

The losses that tell a copying head from the rest are measured on a text written twice: the first
copy can only be predicted from what the model knows, the second also by copying the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from threading import get_ident

import torch
import torch.nn.functional as F
from torch import nn

ABLATIONS = ("zero", "mean")

Head = tuple[int, int]  # (layer, head)


def _head_slice(model: nn.Module, head: int) -> slice:
    hs = model.config.n_embd // model.config.n_head
    return slice(head * hs, (head + 1) * hs)


def _check_heads(model: nn.Module, heads: list[Head]) -> None:
    n_layer, n_head = model.config.n_layer, model.config.n_head
    for layer, head in heads:
        if not (0 <= layer < n_layer and 0 <= head < n_head):
            raise ValueError(
                f"no head {head} in layer {layer}: this model has layers 0-{n_layer - 1} "
                f"and heads 0-{n_head - 1}"
            )


@torch.no_grad()
def head_means(model: nn.Module, idx: torch.Tensor) -> torch.Tensor:
    """Every layer's mean head outputs over the tokens of idx (B, T): (n_layer, C).

    Row l is the average input to layer l's c_proj; its slice for head h is that head's mean.
    """
    sums = []
    me = get_ident()

    def record(_mod, args) -> None:
        if get_ident() == me:  # another session's pass through the shared model is not ours
            sums.append(args[0].mean(dim=(0, 1)))  # (C,)

    handles = [block.attn.c_proj.register_forward_pre_hook(record) for block in model.h]
    was_training = model.training
    model.eval()
    try:
        model(idx)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return torch.stack(sums)  # layers run in order, so row l is layer l


@contextmanager
def ablate(
    model: nn.Module,
    heads: Iterable[Head],
    mode: str = "zero",
    means: torch.Tensor | None = None,
) -> Iterator[None]:
    """Inside the block, each (layer, head) in heads outputs zeros or its mean.

    mode "mean" needs means from head_means(model, some_text). Only forward passes made by the
    calling thread are ablated; the model is back as it was when the block ends, whatever
    happened inside.
    Example:
        with ablate(model, [(1, 2)]):
            loss_without = model(x, y)[1]
    """
    heads = list(heads)
    _check_heads(model, heads)
    if mode not in ABLATIONS:
        raise ValueError(f"mode must be one of {', '.join(ABLATIONS)} (got {mode!r})")
    if mode == "mean" and means is None:
        raise ValueError("mean ablation needs the heads' mean outputs: head_means(model, idx)")
    by_layer: dict[int, list[int]] = {}
    for layer, head in heads:
        by_layer.setdefault(layer, []).append(head)
    me = get_ident()

    def hook_for(layer: int, layer_heads: list[int]):
        def rewrite(_mod, args):
            if get_ident() != me:  # another thread's pass: the heads stay on for it
                return None
            y = args[0].clone()  # (B, T, C): heads side by side in C
            for head in layer_heads:
                cols = _head_slice(model, head)
                y[..., cols] = 0.0 if mode == "zero" else means[layer, cols].to(y.dtype)
            return (y, *args[1:])

        return rewrite

    handles = [
        model.h[layer].attn.c_proj.register_forward_pre_hook(hook_for(layer, layer_heads))
        for layer, layer_heads in by_layer.items()
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@torch.no_grad()
def token_losses(model: nn.Module, idx: torch.Tensor) -> torch.Tensor:
    """Loss in nats of predicting each next token of idx (B, T): (B, T - 1), in eval mode."""
    was_training = model.training
    model.eval()
    try:
        logits, _ = model(idx[:, :-1])  # (B, T - 1, V)
    finally:
        model.train(was_training)
    return F.cross_entropy(logits.transpose(1, 2), idx[:, 1:], reduction="none")  # (B, T - 1)


def twice(passages: torch.Tensor) -> torch.Tensor:
    """Each row written twice: (B, L) -> (B, 2L). Example: twice([[1, 2]]) == [[1, 2, 1, 2]]."""
    return torch.cat([passages, passages], dim=1)


@dataclass(frozen=True)
class CopyLosses:
    """Mean loss per token (nats) on the first and the second copy of passages written twice.

    Both leave out the copy's first token (nothing announces where a copy begins), so they are
    averages over the same L - 1 positions of the passage; their difference is what seeing the
    passage once already buys: the in-context gap.
    """

    first_copy: float
    second_copy: float

    @property
    def gap(self) -> float:
        """first_copy - second_copy: nats per token saved by having seen the passage."""
        return self.first_copy - self.second_copy


def copy_losses(model: nn.Module, passages: torch.Tensor) -> CopyLosses:
    """Losses on [p, p] for each row p of passages (B, L), with 2L at most the context.

    Example: a model that copies perfectly has second_copy near 0 whatever first_copy is.
    """
    L = passages.shape[1]
    if L < 2 or model.config.block_size < 2 * L:
        raise ValueError(
            f"a passage must be 2 to {model.config.block_size // 2} tokens to fit twice in the "
            f"context (got {L})"
        )
    losses = token_losses(model, twice(passages))  # (B, 2L - 1); column i predicts token i + 1
    return CopyLosses(
        first_copy=float(losses[:, : L - 1].mean()),  # tokens 1 .. L-1
        second_copy=float(losses[:, L:].mean()),  # tokens L+1 .. 2L-1
    )


def random_passages(vocab_size: int, length: int, batch: int = 8, seed: int = 0) -> torch.Tensor:
    """Random token ids (batch, length), no id twice in a row where the vocabulary allows.

    Only copying can predict their second copy, and with no repeats inside a passage there is
    exactly one earlier place to copy from (as in the induction score's sequences).
    """
    g = torch.Generator().manual_seed(seed)
    if length > vocab_size:
        return torch.randint(vocab_size, (batch, length), generator=g)
    return torch.stack([torch.randperm(vocab_size, generator=g)[:length] for _ in range(batch)])


@dataclass(frozen=True)
class AblationEffect:
    """The same measurements with the heads intact and ablated (nats per token)."""

    heads: tuple[Head, ...]
    mode: str
    intact_text: CopyLosses  # the given text, written twice
    ablated_text: CopyLosses
    intact_random: CopyLosses  # random tokens written twice
    ablated_random: CopyLosses


def ablation_effect(
    model: nn.Module,
    passages: torch.Tensor,
    heads: Iterable[Head],
    mode: str = "zero",
    seed: int = 0,
) -> AblationEffect:
    """Copy losses on passages (B, L) and on random passages of the same length, intact and not.

    For mean ablation the heads' means are taken on the passages written twice.
    """
    heads = tuple(heads)
    randoms = random_passages(model.config.vocab_size, passages.shape[1], seed=seed)
    means = head_means(model, twice(passages)) if mode == "mean" else None
    intact = copy_losses(model, passages), copy_losses(model, randoms)
    with ablate(model, heads, mode, means):
        ablated = copy_losses(model, passages), copy_losses(model, randoms)
    return AblationEffect(heads, mode, intact[0], ablated[0], intact[1], ablated[1])


def text_passages(ids: torch.Tensor, length: int, batch: int = 8, seed: int = 0) -> torch.Tensor:
    """batch passages of `length` consecutive ids from a 1-D text, at seeded places: (batch, L).

    For the in-context gap during training: draw them once from the validation text and measure
    the same passages at every evaluation.
    """
    if len(ids) < length + 1:
        raise ValueError(f"the text has {len(ids)} tokens, fewer than one passage of {length}")
    g = torch.Generator().manual_seed(seed)
    starts = torch.randint(len(ids) - length, (batch,), generator=g)  # (B,)
    return ids[starts[:, None] + torch.arange(length)].long()  # (B, L)

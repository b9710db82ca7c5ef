"""What the attention page's "switch heads off" panel shows, computed without Streamlit.

Three losses, each the mean loss in nats per predicted token, with the chosen heads intact and
switched off (minigpt/analysis/ablation.py):
- your text as typed: every token after the first;
- your text written twice: the first copy (known only from what the model learned) and the
  second copy (which copying from the first can also predict); a text that already repeats
  itself (a line typed twice) has its repeating part written twice instead, so the first copy
  really is the first time the model sees it;
- random tokens written twice (8 passages as long as your copy): the same two halves, where
  only copying can predict the second copy.
The ablation acts only on this thread's passes, so the shared model is never changed for others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from minigpt.analysis.ablation import (
    CopyLosses,
    ablate,
    copy_losses,
    head_means,
    random_passages,
    token_losses,
    twice,
)

Head = tuple[int, int]  # (layer, head)
# (copy length, heads zeroed) -> losses on the random passages: a cache shared by every text.
SharedRandom = Callable[[int, tuple[Head, ...]], CopyLosses]


@dataclass(frozen=True)
class Losses:
    """One set of measurements (mean nats per predicted token)."""

    text: float  # the text as typed, tokens 1 .. T-1
    text_first: float  # the text's copy length written twice: first copy
    text_second: float  # ... second copy
    random_first: float  # random passages written twice: first copy
    random_second: float  # ... second copy


@dataclass(frozen=True)
class AblationView:
    """The same losses with the heads intact and switched off."""

    heads: tuple[Head, ...]
    mode: str
    copy_length: int  # tokens in one copy: the text's first (its repeating part, or all it)
    repeats: bool  # the text repeats itself, so only its repeating part was written twice
    intact: Losses
    ablated: Losses

    def rows(self) -> list[dict[str, str | float]]:
        """One row per measurement for a table: what it measures, intact, off, change."""
        names = {
            "text": "your text as typed",
            "text_first": "your text written twice: first copy",
            "text_second": "your text written twice: second copy",
            "random_first": "random tokens written twice: first copy",
            "random_second": "random tokens written twice: second copy",
        }
        return [
            {
                "measured on": label,
                "intact": getattr(self.intact, field),
                "heads off": getattr(self.ablated, field),
                "change": getattr(self.ablated, field) - getattr(self.intact, field),
            }
            for field, label in names.items()
        ]


def repeating_unit(ids: list[int]) -> int:
    """The shortest k such that the text is its first k tokens over and over, at least one and
    a half times, else len. The last copy may stop short: a line typed twice often lacks the
    first one's newline, and it is still a line written twice.

    Example: repeating_unit([1, 2, 3, 1, 2]) == 3; repeating_unit([1, 2, 3, 1]) == 4.
    """
    n = len(ids)
    for k in range(1, n):
        if 2 * n < 3 * k:  # less than one and a half copies: not a repetition
            break
        if ids[k:] == ids[: n - k]:
            return k
    return n


def copy_length(ids: list[int], block_size: int) -> int:
    """Tokens of the text that are written twice: its repeating part (the whole text if it does
    not repeat), but no more than fit twice in the context.

    Example: copy_length(list(range(100)), 128) == 64; copy_length([1, 2, 1, 2], 128) == 2.
    """
    return min(repeating_unit(ids), block_size // 2)


def random_copy(model: nn.Module, length: int, heads: list[Head], seed: int = 0) -> CopyLosses:
    """Losses on 8 random passages of `length` tokens written twice, with `heads` zeroed.

    They depend on the copy length and not on the text, so the page shares them between texts
    (a class typing different sentences of one length pays for them once).
    """
    randoms = random_passages(model.config.vocab_size, length, seed=seed)  # (8, length)
    with ablate(model, heads, "zero"):
        return copy_losses(model, randoms)


def ablation_view(
    model: nn.Module,
    ids: list[int],
    heads: list[Head],
    mode: str = "zero",
    seed: int = 0,
    shared_random: SharedRandom | None = None,
) -> AblationView:
    """The panel's losses on ids (at least 2 tokens, at most the context), intact and ablated.

    Mean ablation uses each head's mean output over the text's copy written twice (so its
    random losses belong to this text); the intact and zeroed random losses come from
    `shared_random` when given, else are measured here (the same numbers either way).
    """
    if len(ids) < 2:
        raise ValueError("a loss needs at least two tokens: type a little more text")
    if len(ids) > model.config.block_size:
        raise ValueError(f"{len(ids)} tokens is more than the context ({model.config.block_size})")
    L = max(2, copy_length(ids, model.config.block_size))  # a copy of one token has no loss
    text = torch.tensor([ids])  # (1, T)
    passage = text[:, :L]  # (1, L)
    means = head_means(model, twice(passage)) if mode == "mean" else None

    def randoms(off: list[Head]) -> CopyLosses:
        if off and mode == "mean":
            with ablate(model, off, mode, means):
                return copy_losses(model, random_passages(model.config.vocab_size, L, seed=seed))
        if shared_random is not None and seed == 0:
            return shared_random(L, tuple(off))
        return random_copy(model, L, off, seed)

    def measure(off: list[Head]) -> Losses:
        with ablate(model, off, mode, means):
            mine = copy_losses(model, passage)
            text_loss = float(token_losses(model, text).mean())
        rand = randoms(off)
        return Losses(
            text=text_loss,
            text_first=mine.first_copy,
            text_second=mine.second_copy,
            random_first=rand.first_copy,
            random_second=rand.second_copy,
        )

    intact = measure([])
    ablated = measure(list(heads)) if heads else intact
    return AblationView(tuple(heads), mode, L, repeating_unit(ids) < len(ids), intact, ablated)

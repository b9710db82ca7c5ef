"""Scores that say what kind of work each attention head does.

Each score is the average attention a head pays to one particular earlier position, so it lies
in [0, 1] and reads as "how much of its attention goes there".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from minigpt.analysis.probes import attention_maps


@dataclass(frozen=True)
class HeadScores:
    """Per-head scores, each a (n_layer, n_head) tensor."""

    previous_token: torch.Tensor  # attention from token t to t-1
    first_token: torch.Tensor  # attention from token t to position 0 (a common "resting" place)
    induction: (
        torch.Tensor
    )  # on [r, r], attention from the 2nd copy of a token to what followed the 1st

    def rows(self) -> list[dict[str, float | int]]:
        """One row per head, for a table a person can sort."""
        n_layer, n_head = self.induction.shape
        return [
            {
                "layer": layer,
                "head": head,
                "previous_token": float(self.previous_token[layer, head]),
                "first_token": float(self.first_token[layer, head]),
                "induction": float(self.induction[layer, head]),
            }
            for layer in range(n_layer)
            for head in range(n_head)
        ]


def offset_score(maps: torch.Tensor, offset: int) -> torch.Tensor:
    """Mean attention from each query t to key t - offset, over the queries that have one.

    maps is (n_layer, B, n_head, T, T); the result is (n_layer, n_head).
    Example: offset_score(maps, 1) is the previous-token score.
    """
    diagonal = torch.diagonal(maps, offset=-offset, dim1=-2, dim2=-1)  # (L, B, nh, T - offset)
    return diagonal.mean(dim=(1, 3))


def first_token_score(maps: torch.Tensor) -> torch.Tensor:
    """Mean attention to position 0 from every later position: (n_layer, n_head)."""
    return maps[..., 1:, 0].mean(dim=(1, 3))


def repeated_random_tokens(
    vocab_size: int, half: int, batch: int = 4, seed: int = 0
) -> torch.Tensor:
    """Random tokens r of length `half`, then r again: (batch, 2 * half).

    Random text has no statistics to lean on, so only a head that copies from the first copy
    can predict the second: that is what makes a head an induction head.
    """
    g = torch.Generator().manual_seed(seed)
    r = torch.randint(0, vocab_size, (batch, half), generator=g)
    return torch.cat([r, r], dim=1)


def induction_score(model: nn.Module, half: int | None = None, seed: int = 0) -> torch.Tensor:
    """Mean attention from each token of the second copy to the token after its first copy.

    In [r, r] the token at t >= half repeats the one at t - half, and an induction head looks at
    t - half + 1, the token that came next last time. Result: (n_layer, n_head).
    """
    half = half or max(2, model.config.block_size // 2)
    idx = repeated_random_tokens(model.config.vocab_size, half, seed=seed)
    return induction_from_maps(attention_maps(model, idx), half)


def induction_from_maps(maps: torch.Tensor, half: int) -> torch.Tensor:
    """Induction score from the maps (n_layer, B, n_head, 2h, 2h) of a sequence repeated at `half`.

    Example: a head whose query t >= half puts all weight on t - half + 1 scores 1.
    """
    diagonal = torch.diagonal(maps, offset=-(half - 1), dim1=-2, dim2=-1)  # (L, B, nh, h + 1)
    return diagonal[..., 1:].mean(dim=(1, 3))  # queries t = half .. 2*half - 1


def head_scores(model: nn.Module, idx: torch.Tensor, seed: int = 0) -> HeadScores:
    """Previous-token and first-token scores on idx (B, T), and the induction score."""
    maps = attention_maps(model, idx)
    return HeadScores(
        previous_token=offset_score(maps, 1),
        first_token=first_token_score(maps),
        induction=induction_score(model, seed=seed),
    )

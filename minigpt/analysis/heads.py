"""Scores that say what kind of work each attention head does.

Each score is the share of a head's attention that goes to one kind of earlier position, so it
lies in [0, 1] and reads as "how much of its attention goes there". Two of them look for copying
by content rather than by distance (Olsson et al. 2022, "In-context learning and induction
heads"): where are the earlier occurrences of my token (duplicate-token), and what came right
after them (induction, or prefix matching). Both are measured on sequences built so that no
fixed distance can score: a random segment with no token twice, then the same segment again,
with the segment's length different in every row of the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from minigpt.analysis.probes import attention_maps

SCORE_NAMES = ("previous_token", "first_token", "duplicate_token", "induction")
# Segments longer than this add nothing to the score and cost memory: the maps of GPT-2 small
# on 12 rows of 2 x 64 tokens are 110 MB, on 2 x 512 (its context) 7 GB.
MAX_SEGMENT = 64

# One sentence per score, for a page to show beside the number.
EXPLANATIONS = {
    "previous_token": "Share of each token's attention that goes to the token just before it.",
    "first_token": "Share of each token's attention that rests on the very first token.",
    "duplicate_token": (
        "Share of each token's attention that goes to earlier copies of the same token."
    ),
    "induction": (
        "Share of each token's attention that goes to the token right after an earlier copy "
        "of itself, on a random segment and its repeat: what a head that copies by content does."
    ),
}


@dataclass(frozen=True)
class HeadScores:
    """Every head's scores, each a (n_layer, n_head) tensor; nan where a score is undefined."""

    previous_token: torch.Tensor
    first_token: torch.Tensor
    duplicate_token: torch.Tensor
    induction: torch.Tensor

    def rows(self) -> list[HeadRow]:
        """One row per head, layer-major, for a table a person can sort."""
        n_layer, n_head = self.induction.shape

        def value(t: torch.Tensor, layer: int, head: int) -> float | None:
            x = float(t[layer, head])
            return None if x != x else x  # nan: undefined on this text

        return [
            HeadRow(layer, head, *(value(getattr(self, n), layer, head) for n in SCORE_NAMES))
            for layer in range(n_layer)
            for head in range(n_head)
        ]

    def best(self, name: str = "induction") -> tuple[int, int, float]:
        """(layer, head, score) of the head with the highest score `name` (nan counts as 0)."""
        scores = torch.nan_to_num(getattr(self, name), nan=0.0)
        flat = int(scores.argmax())
        layer, head = divmod(flat, scores.shape[1])
        return layer, head, float(scores[layer, head])


@dataclass(frozen=True)
class HeadRow:
    """One head's scores (None where undefined), as a page's table row."""

    layer: int
    head: int
    previous_token: float | None
    first_token: float | None
    duplicate_token: float | None
    induction: float | None


def _masked_share(maps: torch.Tensor, mask: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """Mean over the chosen queries of the attention that falls on the keys in mask.

    maps (L, B, nh, T, T); mask (B, T, T) True at the keys that count for each query; queries
    (B, T) True for the queries that are averaged. Returns (L, nh), nan if no query is chosen.
    """
    share = (maps * mask[None, :, None]).sum(-1)  # (L, B, nh, T)
    weight = queries[None, :, None].float()  # (1, B, 1, T)
    n = weight.sum()
    if n == 0:
        return torch.full(maps.shape[:1] + maps.shape[2:3], float("nan"))
    return (share * weight).sum(dim=(1, 3)) / n


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


def duplicate_mask(ids: torch.Tensor) -> torch.Tensor:
    """(B, T, T) True at key j < t when token j is the same as query token t.

    Example: duplicate_mask(torch.tensor([[5, 7, 5]]))[0, 2].tolist() == [True, False, False]
    """
    same = ids[:, :, None] == ids[:, None, :]  # (B, Tq, Tk)
    return same & torch.ones_like(same[0]).tril(-1)  # strictly earlier keys only


def prefix_mask(ids: torch.Tensor) -> torch.Tensor:
    """(B, T, T) True at key j <= t when the token before j (at j - 1) equals query token t.

    That key is "what came after an earlier copy of me": the one an induction head attends to.
    Example: prefix_mask(torch.tensor([[5, 7, 5]]))[0, 2].tolist() == [False, True, False]
    """
    before = duplicate_mask(ids)  # key j - 1 < t holds the query's token
    mask = torch.zeros_like(before)
    mask[:, :, 1:] = before[:, :, :-1]  # shift right: key j where j - 1 was a duplicate
    return mask


def duplicate_score(maps: torch.Tensor, ids: torch.Tensor, queries: torch.Tensor | None = None):
    """Mean attention to earlier copies of the query's token: (n_layer, n_head).

    Averaged over the queries that have an earlier copy (or those in `queries`, (B, T) bool).
    """
    mask = duplicate_mask(ids)
    return _masked_share(maps, mask, mask.any(-1) if queries is None else queries & mask.any(-1))


def induction_from_maps(
    maps: torch.Tensor, ids: torch.Tensor, queries: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean attention to the token right after an earlier copy of the query's token (L, nh).

    Averaged over the queries that have such a token (or those in `queries`, (B, T) bool).
    Example: on [a b c a b c] a head where each token in the second copy looks at the
    token that followed its first copy (a -> b at 1, b -> c at 2, c -> a at 3) scores 1.
    """
    mask = prefix_mask(ids)
    return _masked_share(maps, mask, mask.any(-1) if queries is None else queries & mask.any(-1))


@dataclass(frozen=True)
class RepeatedSegments:
    """A batch of [segment, segment, filler]: ids (B, T) and which queries are in a second copy."""

    ids: torch.Tensor  # (B, T)
    lengths: torch.Tensor  # (B,) each row's segment length L; its second copy is [L, 2L)
    second_copy: torch.Tensor  # (B, T) True at positions L .. 2L - 1


def repeated_segments(
    vocab_size: int, block_size: int, batch: int = 12, seed: int = 0
) -> RepeatedSegments:
    """Random segments then their repeat, one length per row, spread over [max/2, max].

    max is the longest segment (up to MAX_SEGMENT) that fits twice in the context and, where the
    vocabulary allows, has no token twice (a token seen twice in the first copy would give two "earlier copies").
    Rows take evenly spaced lengths, so a head that looks a fixed distance back lines up with
    the copy in few rows. What is left after the second copy is random filler, never scored.
    Example: repeated_segments(65, 128).lengths.tolist() spans 32 .. 64
    """
    longest = max(2, min(block_size // 2, vocab_size, MAX_SEGMENT))
    shortest = max(2, longest // 2)
    g = torch.Generator().manual_seed(seed)
    lengths = torch.linspace(shortest, longest, batch).round().long()  # (B,)
    T = 2 * longest
    ids = torch.randint(vocab_size, (batch, T), generator=g)  # filler everywhere to start
    for b, L in enumerate(lengths.tolist()):
        if vocab_size >= L:
            segment = torch.randperm(vocab_size, generator=g)[:L]  # no token twice
        else:
            segment = torch.randint(vocab_size, (L,), generator=g)
        ids[b, :L] = segment
        ids[b, L : 2 * L] = segment
    pos = torch.arange(T)[None, :]  # (1, T)
    second = (pos >= lengths[:, None]) & (pos < 2 * lengths[:, None])  # (B, T)
    return RepeatedSegments(ids, lengths, second)


def scores_on(maps: torch.Tensor, ids: torch.Tensor, queries: torch.Tensor | None = None):
    """All four scores from maps (L, B, nh, T, T) of ids (B, T); copy scores only on `queries`."""
    nan = torch.full(maps.shape[:1] + maps.shape[2:3], float("nan"))  # (L, nh)
    many = ids.shape[1] > 1
    return HeadScores(
        previous_token=offset_score(maps, 1) if many else nan,
        first_token=first_token_score(maps) if many else nan,
        duplicate_token=duplicate_score(maps, ids, queries),
        induction=induction_from_maps(maps, ids, queries),
    )


def head_scores(model: nn.Module, batch: int = 12, seed: int = 0) -> HeadScores:
    """Every head's four scores on repeated random segments, the standard test: (L, nh) each.

    The copy scores average over the second copies only; the previous- and first-token scores
    over every position. The same sequences for every model of a vocabulary and context.
    """
    cfg = model.config
    seq = repeated_segments(cfg.vocab_size, cfg.block_size, batch, seed)
    maps = attention_maps(model, seq.ids)
    return scores_on(maps, seq.ids, seq.second_copy)


def induction_score(model: nn.Module, seed: int = 0, batch: int = 12) -> torch.Tensor:
    """Each head's induction score on `batch` rows of repeated random segments: (n_layer, n_head)."""
    return head_scores(model, batch=batch, seed=seed).induction

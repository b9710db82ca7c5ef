"""What the positional and attention pages show, computed from a model as plain arrays.

Each helper takes a model (and maybe token ids) and returns numpy arrays in a small frozen
dataclass: the pages cache them, and the chart builders draw them without touching torch.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from minigpt.analysis.heads import (
    duplicate_score,
    first_token_score,
    induction_score,
    offset_score,
)
from minigpt.analysis.probes import attention_maps
from minigpt.positional import (
    alibi_bias,
    alibi_slopes,
    cosine_similarity_matrix,
    inverse_frequencies,
    rope_angles,
    sinusoidal_table,
)

# Positions


@dataclass(frozen=True)
class PositionalViews:
    """Every positional scheme drawn for n_pos positions and a vector of `width` dimensions."""

    sinusoid: np.ndarray  # (P, width) the fixed table Vaswani et al. add to token embeddings
    sinusoid_similarity: np.ndarray  # (P, P) cosine similarity of the rows above
    sinusoid_by_distance: np.ndarray  # (P,) mean similarity of two positions d apart
    learned: np.ndarray | None  # (block_size, n_embd) the model's wpe table, if it has one
    learned_similarity: np.ndarray | None  # (block_size, block_size)
    learned_by_distance: np.ndarray | None  # (block_size,)
    # (block_size,) the sinusoid at the learned table's own shape (block_size x n_embd), so the
    # two "nearby positions" curves compare tables of the same width, whatever the sliders say
    sinusoid_matched_by_distance: np.ndarray | None
    learned_row_norms: np.ndarray | None  # (block_size,) length of each learned row
    init_row_norm: float  # a learned row's expected length at initialisation (std 0.02)
    inverse_frequencies: np.ndarray  # (width/2,) radians per position of each RoPE pair
    rope_angles: np.ndarray  # (P, width/2) total angle of each pair at each position
    rope_relative: np.ndarray  # (P,) RoPE score of a query and key that agree, by distance
    alibi_slopes: np.ndarray  # (n_head,)
    alibi_bias: np.ndarray  # (n_head, P, P) added to attention scores, query x key


def learned_position_table(model: nn.Module) -> torch.Tensor | None:
    """The model's learned position table (block_size, n_embd), or None for other schemes.

    Example: learned_position_table(GPT(GPTConfig(pos_emb="rope"))) is None.
    """
    if model.config.pos_emb != "learned":
        return None
    return model.wpe.weight.detach().clone()


def similarity_by_distance(similarity: np.ndarray) -> np.ndarray:
    """Mean similarity of all pairs of positions d apart, for d = 0 .. P-1: (P,).

    Example: similarity_by_distance(np.eye(3)) == [1, 0, 0].
    """
    return np.array([np.diagonal(similarity, d).mean() for d in range(len(similarity))])


def rope_relative_score(inv_freq: torch.Tensor, n_pos: int) -> torch.Tensor:
    """q.k after RoPE for a query and key that are equal and all ones, at distance 0..n_pos-1.

    Each pair contributes cos(distance * freq); averaged over pairs, so distance 0 scores 1.
    Example: rope_relative_score(inverse_frequencies(8), 3)[0] == 1.
    """
    distance = torch.arange(n_pos, dtype=torch.float32)[:, None]  # (P, 1)
    return torch.cos(distance * inv_freq[None, :]).mean(dim=-1)  # (P,)


def _sinusoid_by_distance(n_pos: int, width: int) -> np.ndarray:
    """Mean cosine similarity of sinusoid rows d apart, for a table of n_pos x width: (n_pos,)."""
    return similarity_by_distance(cosine_similarity_matrix(sinusoidal_table(n_pos, width)).numpy())


def positional_views(model: nn.Module, n_pos: int, width: int) -> PositionalViews:
    """The formula-based schemes at (n_pos, width), and the model's own table if it learned one.

    ALiBi uses the model's head count, since its slopes depend on it.
    """
    sinusoid = sinusoidal_table(n_pos, width)
    sinusoid_similarity = cosine_similarity_matrix(sinusoid).numpy()
    inv_freq = inverse_frequencies(width)
    learned = learned_position_table(model)
    learned_similarity = None if learned is None else cosine_similarity_matrix(learned).numpy()
    n_head = model.config.n_head
    return PositionalViews(
        sinusoid=sinusoid.numpy(),
        sinusoid_similarity=sinusoid_similarity,
        sinusoid_by_distance=similarity_by_distance(sinusoid_similarity),
        learned=None if learned is None else learned.numpy(),
        learned_similarity=learned_similarity,
        learned_by_distance=(
            None if learned_similarity is None else similarity_by_distance(learned_similarity)
        ),
        sinusoid_matched_by_distance=(
            None if learned is None else _sinusoid_by_distance(*learned.shape)
        ),
        learned_row_norms=None if learned is None else learned.norm(dim=-1).numpy(),
        init_row_norm=0.02 * model.config.n_embd**0.5,  # GPT._init_weights: normal, std 0.02
        inverse_frequencies=inv_freq.numpy(),
        rope_angles=rope_angles(n_pos, width).numpy(),
        rope_relative=rope_relative_score(inv_freq, n_pos).numpy(),
        alibi_slopes=alibi_slopes(n_head).numpy(),
        alibi_bias=alibi_bias(n_head, n_pos).numpy(),
    )


def untrained_tail(norms: np.ndarray, init_norm: float, tolerance: float = 0.25) -> int | None:
    """First row of the run at the table's end still as long as a freshly initialised row.

    A row the optimiser never touched keeps its random start, about 0.02 * sqrt(n_embd) long;
    positions past the longest training text form such a run at the end. A single row of that
    length is chance (a trained row can cross it), so the run must be at least two rows long.
    Example: untrained_tail(np.array([1.0, 0.2, 0.2]), 0.2) == 1.
    """
    near = np.abs(norms - init_norm) <= tolerance * init_norm
    start = len(near)
    while start > 0 and near[start - 1]:
        start -= 1
    return start if len(near) - start >= 2 else None


# Attention


@dataclass(frozen=True)
class AttentionView:
    """Attention on one text: every head's map, and what kind of work each head does."""

    maps: np.ndarray  # (n_layer, n_head, T, T) rows sum to 1, zero above the diagonal
    previous_token: np.ndarray  # (n_layer, n_head) mean attention from t to t-1 (nan if T < 2)
    first_token: np.ndarray  # (n_layer, n_head) mean attention from t > 0 to position 0
    induction: np.ndarray  # (n_layer, n_head) on repeated random tokens: the same for any text
    # (n_layer, n_head) mean attention to earlier copies of the query's token, over the tokens
    # of the text that have one (nan if none has); None where it was not measured
    duplicate_token: np.ndarray | None = None

    def rows(self) -> list[dict[str, float | int | None]]:
        """One row per head, layer-major, for a table a person can sort."""
        return head_rows(
            self.previous_token, self.first_token, self.induction, self.duplicate_token
        )


def crop_to_context(ids: list[int], block_size: int) -> tuple[list[int], int]:
    """The first block_size ids, and how many were cut off.

    Example: crop_to_context([1, 2, 3], 2) == ([1, 2], 1).
    """
    return ids[:block_size], max(0, len(ids) - block_size)


def attention_for_ids(
    model: nn.Module, ids: list[int], induction: np.ndarray | None = None
) -> AttentionView:
    """Attention maps and head scores for one sequence of ids (at least one).

    The induction score does not depend on the text; pass it in when it is already known.
    """
    if not ids:
        raise ValueError("attention needs at least one token")
    maps = attention_maps(model, torch.tensor([ids]))  # (L, 1, nh, T, T)
    nan = torch.full(maps.shape[:1] + maps.shape[2:3], float("nan"))  # (L, nh)
    many = len(ids) > 1
    return AttentionView(
        maps=maps[:, 0].numpy(),
        previous_token=(offset_score(maps, 1) if many else nan).numpy(),
        first_token=(first_token_score(maps) if many else nan).numpy(),
        induction=induction_scores(model) if induction is None else induction,
        duplicate_token=duplicate_score(maps, torch.tensor([ids])).numpy(),
    )


def induction_scores(model: nn.Module, seed: int = 0, batch: int = 12) -> np.ndarray:
    """Induction score of every head (n_layer, n_head), on repeated random tokens (not your text).

    batch: rows of repeated segments; the Attention page bounds it by what the server's budget
    lets one capture hold (budget.tokens_that_fit).
    Example: induction_scores(model).shape == (model.config.n_layer, model.config.n_head).
    """
    return induction_score(model, seed=seed, batch=batch).numpy()


def token_focus(maps: np.ndarray, t: int) -> np.ndarray:
    """Where token t looks in every head: (n_layer * n_head, t + 1), rows ordered layer, head.

    Example: token_focus(view.maps, 5)[0] is layer 0 head 0's attention from token 5.
    """
    n_layer, n_head = maps.shape[:2]
    return maps[:, :, t, : t + 1].reshape(n_layer * n_head, t + 1)


def head_rows(
    previous_token: np.ndarray,
    first_token: np.ndarray,
    induction: np.ndarray,
    duplicate_token: np.ndarray | None = None,
) -> list[dict[str, float | int | None]]:
    """One row per head (layer-major), scores as floats or None where undefined."""

    def value(x: float) -> float | None:
        return None if np.isnan(x) else float(x)

    n_layer, n_head = induction.shape
    return [
        {
            "layer": layer,
            "head": head,
            "previous_token": value(previous_token[layer, head]),
            "first_token": value(first_token[layer, head]),
            **(
                {}
                if duplicate_token is None
                else {"duplicate_token": value(duplicate_token[layer, head])}
            ),
            "induction": value(induction[layer, head]),
        }
        for layer in range(n_layer)
        for head in range(n_head)
    ]


# Tokens as a person can read them

_SHOWN = {" ": "␣", "\n": "↵", "\t": "⇥", "": "∅"}
_ESCAPED = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # control, format (RTL, ZWJ), unassigned


def visible_pieces(token: str) -> list[tuple[str, bool]]:
    """A token's text as (shown text, is a mark) pieces: whitespace drawn as a sign and
    invisible characters escaped; marks are what a renderer may grey out.

    Right-to-left marks, zero-width joiners and control characters would reorder, join or hide
    the labels around them, so they are shown as escapes like \\u200f.
    Example: visible_pieces(" a") == [("␣", True), ("a", False)]
    """
    if token in _SHOWN:
        return [(_SHOWN[token], True)]
    out = []
    for i, ch in enumerate(token):
        category = unicodedata.category(ch)
        if ch in _SHOWN:
            out.append((_SHOWN[ch], True))
        elif category in _ESCAPED or (category == "Zs" and ch != " "):
            out.append((ascii(ch)[1:-1], True))  # '\x07', '\u200f', '\U0001f600'
        elif i == 0 and category.startswith("M"):
            out.append((ascii(ch)[1:-1], True))  # a lone combining mark would join the label before
        else:
            out.append((ch, False))
    return out


def visible(token: str) -> str:
    """A token's text as every page shows it: whitespace drawn, invisible characters escaped,
    never empty. Example: visible(" a\\n") == "␣a↵" and visible("\\u200f") == "\\\\u200f".
    """
    return "".join(text for text, _ in visible_pieces(token))


def token_labels(tokenizer, ids: list[int]) -> list[str]:
    """The visible text of each token id. Example: token_labels(char_tok, ids)[0] == "T"."""
    return [visible(tokenizer.token_str(i)) for i in ids]

"""Position information: the four schemes the lab compares, as pure functions.

The model calls these and the positional page draws them, so what a student sees is exactly
what the model uses.
"""

from __future__ import annotations

import math

import torch


def sinusoidal_table(n_pos: int, dim: int, base: float = 10000.0) -> torch.Tensor:
    """Vaswani et al.'s fixed encoding: even dims sine, odd dims cosine, wavelengths 2*pi .. base*2*pi.

    Example: sinusoidal_table(4, 8).shape == (4, 8) and row 0 is [0, 1, 0, 1, ...].
    """
    pos = torch.arange(n_pos, dtype=torch.float32)[:, None]  # (P, 1)
    freqs = inverse_frequencies(dim, base)  # (ceil(dim/2),)
    angles = pos * freqs[None, :]  # (P, ceil(dim/2))
    table = torch.zeros(n_pos, dim)
    table[:, 0::2] = torch.sin(angles)
    table[:, 1::2] = torch.cos(angles[:, : dim // 2])
    return table


def inverse_frequencies(dim: int, base: float = 10000.0) -> torch.Tensor:
    """Angular speed of each dimension pair: pair i turns by base**(-2i/dim) radians per position.

    Example: inverse_frequencies(4) == tensor([1.0, 0.01]).
    """
    return base ** (-torch.arange(0, dim, 2, dtype=torch.float32) / dim)


def rope_angles(n_pos: int, head_size: int, base: float = 10000.0) -> torch.Tensor:
    """The angle RoPE rotates each dimension pair of a query or key by, at each position.

    Example: rope_angles(3, 4)[2] == tensor([2.0, 0.02]).
    """
    pos = torch.arange(n_pos, dtype=torch.float32)
    return torch.outer(pos, inverse_frequencies(head_size, base))  # (P, head_size/2)


def apply_rope(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate consecutive pairs (x0, x1), (x2, x3), ... of the last dim by `angles`.

    Because q_m . k_n then depends only on m - n, attention sees relative position.
    Example: apply_rope(q, rope_angles(T, hs)) for q of shape (B, nh, T, hs).
    """
    cos, sin = angles.cos(), angles.sin()  # (T, hs/2)
    x_even, x_odd = x[..., 0::2], x[..., 1::2]  # (..., T, hs/2) each
    rotated = torch.stack((x_even * cos - x_odd * sin, x_even * sin + x_odd * cos), dim=-1)
    return rotated.flatten(-2)  # interleave back to (..., T, hs)


def alibi_slopes(n_head: int) -> torch.Tensor:
    """Press et al.'s per-head slopes: a geometric sequence starting at 2**(-8/n).

    For a head count that is not a power of two, take the slopes of the next lower power of two
    and fill in with every other slope of the next higher one, as the paper does.
    Example: alibi_slopes(4) == tensor([0.25, 0.0625, 0.015625, 0.00390625]).
    """

    def power_of_two_slopes(n: int) -> list[float]:
        start = 2 ** (-8 / n)
        return [start ** (i + 1) for i in range(n)]

    if math.log2(n_head).is_integer():
        return torch.tensor(power_of_two_slopes(n_head))
    lower = 2 ** math.floor(math.log2(n_head))
    extra = power_of_two_slopes(2 * lower)[0::2][: n_head - lower]
    return torch.tensor(power_of_two_slopes(lower) + extra)


def alibi_bias(n_head: int, n_pos: int) -> torch.Tensor:
    """The bias ALiBi adds to attention scores: -slope * distance to the key (0 on the diagonal).

    Positions above the diagonal are masked anyway; they get the same formula (positive
    distance is clamped to 0) so the matrix is finite everywhere.
    Example: alibi_bias(1, 3)[0] == [[0, 0, 0], [-1, 0, 0], [-2, -1, 0]] * slope.
    """
    pos = torch.arange(n_pos)
    distance = (pos[:, None] - pos[None, :]).clamp(min=0).float()  # (T, T) query - key
    return -alibi_slopes(n_head)[:, None, None] * distance  # (nh, T, T)


def cosine_similarity_matrix(table: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of every position's vector with every other's: (P, P)."""
    unit = torch.nn.functional.normalize(table.float(), dim=-1)
    return unit @ unit.T

"""The positional schemes behave as their papers say."""

import math

import torch

from minigpt.positional import (
    alibi_bias,
    alibi_slopes,
    apply_rope,
    cosine_similarity_matrix,
    rope_angles,
    sinusoidal_table,
)


def test_sinusoidal_row_zero_and_a_known_value():
    table = sinusoidal_table(10, 8)
    assert table[0].tolist() == [0.0, 1.0] * 4
    assert math.isclose(table[3, 0].item(), math.sin(3.0), rel_tol=1e-6)
    assert math.isclose(table[3, 3].item(), math.cos(3 * 10000 ** (-2 / 8)), rel_tol=1e-6)


def test_sinusoidal_odd_width_works():
    assert sinusoidal_table(5, 7).shape == (5, 7)


def test_rope_preserves_length_and_makes_scores_depend_on_distance_only():
    q, k = torch.randn(2, 16)
    angles = rope_angles(20, 16)

    def score(m, n):
        qm = apply_rope(q.expand(20, 16), angles)[m]
        kn = apply_rope(k.expand(20, 16), angles)[n]
        return qm @ kn

    torch.testing.assert_close(score(5, 2), score(15, 12))
    torch.testing.assert_close(
        apply_rope(q.expand(20, 16), angles).norm(dim=-1), q.norm().expand(20)
    )


def test_alibi_slopes_match_the_paper_for_powers_of_two_and_others():
    torch.testing.assert_close(alibi_slopes(8), torch.tensor([2.0 ** -(i + 1) for i in range(8)]))
    assert alibi_slopes(6).shape == (6,) and (alibi_slopes(6) > 0).all()


def test_alibi_bias_is_linear_in_distance():
    bias = alibi_bias(2, 4)
    slope = alibi_slopes(2)[0]
    torch.testing.assert_close(bias[0, 3], -slope * torch.tensor([3.0, 2.0, 1.0, 0.0]))


def test_cosine_similarity_diagonal_is_one():
    sim = cosine_similarity_matrix(sinusoidal_table(12, 16))
    torch.testing.assert_close(sim.diagonal(), torch.ones(12))
    assert sim[0, 1] > sim[0, 6]  # neighbours look alike

"""The head scores separate heads whose behaviour is known by construction.

Each test head is an attention map written by hand from the token ids: a head that looks a fixed
distance back, a true prefix-matching (induction) head, a previous-token head, a uniform head
and a duplicate-token head. Each score must pick out its own kind and no other.
"""

import pytest
import torch

from minigpt import GPT, GPTConfig
from minigpt.analysis.heads import (
    EXPLANATIONS,
    SCORE_NAMES,
    HeadRow,
    duplicate_mask,
    head_scores,
    prefix_mask,
    repeated_segments,
    scores_on,
)

VOCAB, BLOCK = 65, 128  # a character vocabulary and the induction preset's context


def head_from_rule(ids: torch.Tensor, keys) -> torch.Tensor:
    """An attention map (B, T, T) putting equal weight on keys(ids_row, t) (position 0 if none)."""
    B, T = ids.shape
    maps = torch.zeros(B, T, T)
    for b in range(B):
        row = ids[b].tolist()
        for t in range(T):
            chosen = [j for j in keys(row, t) if 0 <= j <= t] or [0]
            maps[b, t, chosen] = 1 / len(chosen)
    return maps


def fixed_offset(d):
    return lambda row, t: [t - d]


def prefix_matching(row, t):
    return [j for j in range(1, t + 1) if row[j - 1] == row[t]]


def duplicate_token(row, t):
    return [j for j in range(t) if row[j] == row[t]]


def uniform(row, t):
    return list(range(t + 1))


@pytest.fixture(scope="module")
def scored():
    """Scores of five hand-made heads, stacked as the heads of one layer."""
    seq = repeated_segments(VOCAB, BLOCK)
    longest = int(seq.lengths.max())
    rules = {
        # The old score's blind spot: looks exactly (longest segment - 1) back, so it lands on
        # the induction target in the rows whose segment is the longest, and nowhere else.
        "fixed_offset": fixed_offset(longest - 1),
        "prefix": prefix_matching,
        "previous": fixed_offset(1),
        "uniform": uniform,
        "duplicate": duplicate_token,
    }
    maps = torch.stack([head_from_rule(seq.ids, rule) for rule in rules.values()], dim=1)
    scores = scores_on(maps[None], seq.ids, seq.second_copy)  # (1, 5) each
    return {
        name: {s: float(getattr(scores, s)[0, i]) for s in SCORE_NAMES}
        for i, name in enumerate(rules)
    }


def test_induction_score_finds_the_prefix_matching_head_only(scored):
    assert scored["prefix"]["induction"] > 0.99
    assert scored["fixed_offset"]["induction"] < 0.2  # the old score gave it 1.0
    assert scored["previous"]["induction"] < 0.05
    assert scored["uniform"]["induction"] < 0.05
    assert scored["duplicate"]["induction"] < 0.05


def test_duplicate_score_finds_the_duplicate_head_only(scored):
    assert scored["duplicate"]["duplicate_token"] > 0.99
    for other in ("prefix", "previous", "uniform"):
        assert scored[other]["duplicate_token"] < 0.1
    assert scored["fixed_offset"]["duplicate_token"] < 0.2


def test_previous_token_score_finds_the_previous_token_head_only(scored):
    assert scored["previous"]["previous_token"] > 0.99
    for other in ("prefix", "uniform", "duplicate", "fixed_offset"):
        assert scored[other]["previous_token"] < 0.2


def test_first_token_score_is_high_only_where_a_head_rests_on_position_zero():
    ids = torch.randint(VOCAB, (2, 20))
    resting = head_from_rule(ids, lambda row, t: [0])
    scores = scores_on(torch.stack([resting, head_from_rule(ids, uniform)], 1)[None], ids)
    assert scores.first_token[0, 0] == 1.0 and scores.first_token[0, 1] < 0.3


def test_segments_repeat_without_a_token_twice_and_lengths_vary():
    seq = repeated_segments(VOCAB, BLOCK, batch=16)
    assert len(set(seq.lengths.tolist())) == 16  # no distance back is shared by two rows
    for row, L in zip(seq.ids, seq.lengths.tolist(), strict=True):
        assert torch.equal(row[:L], row[L : 2 * L]) and len(set(row[:L].tolist())) == L
    assert seq.second_copy.sum(1).tolist() == seq.lengths.tolist()


def test_a_small_vocabulary_still_gives_repeats():
    seq = repeated_segments(5, 64, batch=4)  # segments longer than the vocabulary
    L = int(seq.lengths[0])
    assert torch.equal(seq.ids[0, :L], seq.ids[0, L : 2 * L])


def test_masks_on_a_worked_example():
    ids = torch.tensor([[5, 7, 5, 7]])
    assert duplicate_mask(ids)[0, 2].tolist() == [True, False, False, False]
    assert prefix_mask(ids)[0, 2].tolist() == [False, True, False, False]  # 7 followed the 5
    assert prefix_mask(ids)[0, 3].tolist() == [False, False, True, False]  # 5 followed the 7
    assert not prefix_mask(ids)[0, 1].any()  # the first 7 has no earlier copy


def test_scores_of_a_real_model_are_shares_with_one_row_per_head():
    torch.manual_seed(0)
    m = GPT(GPTConfig(n_layer=2, n_head=3, n_embd=24, block_size=16, vocab_size=13))
    scores = head_scores(m, batch=4)
    for name in SCORE_NAMES:
        t = getattr(scores, name)
        assert t.shape == (2, 3) and (t >= 0).all() and (t <= 1).all()
    rows = scores.rows()
    assert (
        len(rows) == 6 and isinstance(rows[0], HeadRow) and (rows[4].layer, rows[4].head) == (1, 1)
    )
    layer, head, best = scores.best("induction")
    assert best == pytest.approx(float(scores.induction[layer, head]))
    assert best == pytest.approx(float(scores.induction.max()))


def test_undefined_scores_become_none_in_rows():
    ids = torch.tensor([[1, 2, 3]])  # no token twice: no copy scores
    maps = head_from_rule(ids, uniform)[None, :, None]  # (1, 1, 1, T, T)
    row = scores_on(maps, ids).rows()[0]
    assert (
        row.induction is None
        and row.duplicate_token is None
        and row.previous_token == pytest.approx(5 / 12)
    )


def test_every_score_has_a_one_sentence_explanation():
    assert set(EXPLANATIONS) == set(SCORE_NAMES)
    assert all(text.count(". ") == 0 and text.endswith(".") for text in EXPLANATIONS.values())

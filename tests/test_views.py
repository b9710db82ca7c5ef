"""The arrays the positional and attention pages draw (lab/engine/views.py)."""

import unicodedata

import numpy as np
import pytest
import torch

from lab.engine.views import (
    attention_for_ids,
    crop_to_context,
    head_rows,
    induction_scores,
    learned_position_table,
    positional_views,
    rope_relative_score,
    similarity_by_distance,
    token_focus,
    token_labels,
    untrained_tail,
    visible,
)
from minigpt import GPT, GPTConfig
from minigpt.positional import inverse_frequencies
from minigpt.tokenizers.tokenizer import CharTokenizer, WordTokenizer


def model(pos_emb: str = "learned", n_head: int = 3) -> GPT:
    torch.manual_seed(0)
    cfg = GPTConfig(
        n_layer=2, n_head=n_head, n_embd=24, block_size=16, vocab_size=13, pos_emb=pos_emb
    )
    return GPT(cfg).eval()


# ---------------------------------------------------------------- positions


def test_learned_table_is_a_copy_of_wpe_and_absent_for_other_schemes():
    m = model()
    table = learned_position_table(m)
    torch.testing.assert_close(table, m.wpe.weight)
    table += 1  # a copy: the model is untouched
    assert not torch.equal(table, m.wpe.weight)
    for pos_emb in ("sinusoidal", "rope", "alibi", "none"):
        assert learned_position_table(model(pos_emb)) is None


@pytest.mark.parametrize("pos_emb", ["learned", "sinusoidal", "rope", "alibi", "none"])
def test_positional_views_have_the_promised_shapes(pos_emb):
    views = positional_views(model(pos_emb), n_pos=20, width=10)
    assert views.sinusoid.shape == (20, 10)
    assert views.sinusoid_similarity.shape == (20, 20)
    np.testing.assert_allclose(np.diagonal(views.sinusoid_similarity), 1, atol=1e-5)
    assert views.sinusoid_by_distance.shape == (20,)
    assert views.inverse_frequencies.shape == (5,)
    assert views.rope_angles.shape == (20, 5)
    assert views.rope_relative.shape == (20,)
    assert views.alibi_slopes.shape == (3,)
    assert views.alibi_bias.shape == (3, 20, 20)
    learned = (
        views.learned,
        views.learned_similarity,
        views.learned_by_distance,
        views.sinusoid_matched_by_distance,  # the sinusoid at the learned table's shape
    )
    if pos_emb == "learned":
        assert [a.shape for a in learned] == [(16, 24), (16, 16), (16,), (16,)]
        assert views.learned_row_norms.shape == (16,)
    else:
        assert learned == (None,) * 4 and views.learned_row_norms is None


def test_similarity_by_distance_averages_each_diagonal():
    np.testing.assert_allclose(similarity_by_distance(np.eye(3)), [1, 0, 0])
    sim = np.array([[1.0, 0.5, 0.1], [0.5, 1.0, 0.3], [0.1, 0.3, 1.0]])
    np.testing.assert_allclose(similarity_by_distance(sim), [1.0, 0.4, 0.1])


def test_rope_relative_score_is_one_at_distance_zero_and_decays():
    score = rope_relative_score(inverse_frequencies(64), 200)
    assert score[0].item() == pytest.approx(1.0)
    assert score[1:].max() < 1.0 and score[100:].mean() < score[:10].mean()


def test_untrained_tail_finds_rows_still_at_their_random_start():
    m = model()
    views = positional_views(m, 8, 8)
    # A fresh table is all random start: every row is about 0.02 * sqrt(n_embd) long.
    assert untrained_tail(views.learned_row_norms, views.init_row_norm) == 0
    with torch.no_grad():
        m.wpe.weight[:10] *= 10  # "trained": these rows moved far from the start
    views = positional_views(m, 8, 8)
    assert untrained_tail(views.learned_row_norms, views.init_row_norm) == 10
    with torch.no_grad():
        m.wpe.weight[10:] *= 10  # every row trained...
        m.wpe.weight[7] /= 10  # ...one merely crossing the random-start length by chance
    views = positional_views(m, 8, 8)
    assert untrained_tail(views.learned_row_norms, views.init_row_norm) is None


# ---------------------------------------------------------------- attention


def test_crop_to_context_keeps_the_start():
    assert crop_to_context([1, 2, 3], 2) == ([1, 2], 1)
    assert crop_to_context([1, 2], 5) == ([1, 2], 0)


@pytest.mark.parametrize("pos_emb", ["learned", "rope", "alibi", "none"])
def test_attention_for_ids_gives_causal_probability_rows(pos_emb):
    view = attention_for_ids(model(pos_emb), [1, 2, 3, 1, 2, 3])
    assert view.maps.shape == (2, 3, 6, 6)
    np.testing.assert_allclose(view.maps.sum(-1), 1, atol=1e-5)
    assert np.abs(np.triu(view.maps, 1)).max() == 0
    for scores in (view.previous_token, view.first_token, view.induction):
        assert scores.shape == (2, 3) and (scores >= 0).all() and (scores <= 1).all()
    rows = view.rows()
    assert len(rows) == 6 and (rows[4]["layer"], rows[4]["head"]) == (1, 1)


def test_one_token_has_no_previous_token_score_but_still_a_map():
    view = attention_for_ids(model(), [4], induction=np.zeros((2, 3)))
    assert view.maps.shape == (2, 3, 1, 1) and np.isnan(view.previous_token).all()
    assert all(r["previous_token"] is None and r["induction"] == 0 for r in view.rows())
    with pytest.raises(ValueError):
        attention_for_ids(model(), [])


def test_given_induction_scores_are_used_as_they_are():
    m = model()
    known = induction_scores(m)
    assert known.shape == (2, 3)
    view = attention_for_ids(m, [1, 2], induction=known)
    assert view.induction is known


def test_token_focus_is_the_row_of_every_head():
    maps = attention_for_ids(model(), [1, 2, 3, 4, 5]).maps
    focus = token_focus(maps, 3)
    assert focus.shape == (6, 4)
    np.testing.assert_array_equal(focus[4], maps[1, 1, 3, :4])  # layer 1 head 1 = row 1 * 3 + 1
    np.testing.assert_allclose(focus.sum(-1), 1, atol=1e-5)


def test_head_rows_turn_nan_into_none():
    rows = head_rows(np.array([[np.nan]]), np.array([[0.5]]), np.array([[0.25]]))
    assert rows == [
        {"layer": 0, "head": 0, "previous_token": None, "first_token": 0.5, "induction": 0.25}
    ]


# ---------------------------------------------------------------- labels


def test_visible_draws_whitespace_and_escapes_the_invisible():
    assert visible(" a\n\t") == "␣a↵⇥"
    assert visible("") == "∅"
    assert visible("\u200f") == "\\u200f"  # right-to-left mark
    assert visible("\x07") == "\\x07"
    assert visible("👩\u200d💻") == "👩\\u200d💻"  # the joiner shows, the emoji stay
    assert visible("\u0301") == "\\u0301"  # a lone combining accent would join its neighbour
    assert visible("é") == "é" and visible("שלום") == "שלום"


def test_visible_leaves_nothing_invisible_whatever_the_input():
    nasty = "\x00\x1b[31m\u202etxt\u200f\u200d\ufeff\u2028\u00a0\U000e0001\ud800"
    shown = visible(nasty)
    assert shown and not any(
        unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for c in shown
    )


def test_token_labels_for_char_and_word_tokenizers():
    chars = CharTokenizer.train("ab c\n")
    assert token_labels(chars, chars.encode("a c\n")) == ["a", "␣", "c", "↵"]
    words = WordTokenizer.train("to be or not to be")
    assert token_labels(words, words.encode("to be")) == ["to", "␣", "be"]

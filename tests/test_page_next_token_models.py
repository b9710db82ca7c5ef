"""The Next token page on small models made for the test: a long sequence read through the
context window, a uniform model's log2 V bits and 1/V probabilities, every positional scheme, a
word model, a BPE model's split bytes, and the limit on added tokens."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lab import state
from lab.next_token import state as nt
from minigpt.tokenizers.tokenizer import CharTokenizer, WordTokenizer
from tests.apptest import errors
from tests.next_token_page import (
    CHARS,
    array,
    messages,
    metrics,
    seeded,
    sequence_html,
    stages,
    tiny,
    uniform,
    vega,
)


def test_a_long_sequence_is_read_through_the_context_window():
    at = seeded(tiny(block_size=8), CharTokenizer.train(CHARS))
    assert errors(at) == []
    assert any("reads only the last 8" in c.value for c in at.caption)
    (_, lens) = vega(at)
    columns = lens["vconcat"][0]["layer"][0]["encoding"]["x"]["sort"]  # one per position
    assert len(columns) == 8  # the lens reads the window: its last 8 positions


def test_a_uniform_model_scores_log2_v_bits_per_character():
    tok = CharTokenizer.train(CHARS)
    at = seeded(uniform(tok.vocab_size), tok)
    assert errors(at) == []
    assert metrics(at)["Bits per character"] == f"{math.log2(tok.vocab_size):.2f}"
    raw = array(stages(at)["data"][0]["x"])[:20]
    assert np.allclose(raw, 1 / tok.vocab_size, atol=1e-6)


@pytest.mark.parametrize("pos_emb", ["learned", "sinusoidal", "rope", "alibi", "none"])
def test_every_positional_scheme_runs(pos_emb):
    at = seeded(tiny(pos_emb), CharTokenizer.train(CHARS))
    assert errors(at) == []
    assert len(at.get("plotly_chart")) == 1 and len(vega(at)) == 2
    at.button(key=nt.TAKE).click().run()
    assert errors(at) == []


def test_a_word_model_with_unknown_words_runs():
    tok = WordTokenizer.train("to be or not to be that is the question", 64)
    at = seeded(tiny(vocab_size=tok.vocab_size), tok, **{nt.PROMPT: "to be or xylophone"})
    assert errors(at) == []
    assert len(at.get("plotly_chart")) == 1


def test_a_bpe_model_runs_and_split_bytes_are_drawn_readably():
    from lab.next_token import views
    from minigpt.tokenizers.bpe import BPETokenizer

    tok = BPETokenizer.train("café crème brûlée, to be or not to be " * 20, 270, None)
    at = seeded(tiny(vocab_size=tok.vocab_size, block_size=32), tok, **{nt.PROMPT: "café"})
    assert errors(at) == []
    assert len(at.get("plotly_chart")) == 1 and len(vega(at)) == 2
    assert views.label(tok, 0xC3) == "\\xc3"  # half of é: written as an escape, never blank
    assert views.label(tok, ord(" ")) == "␣"


def test_on_a_uniform_model_every_shown_probability_is_one_over_v():
    from lab.next_token import views

    tok = CharTokenizer.train(CHARS)
    V = tok.vocab_size
    model = uniform(V)
    lens = views.lens_view(model, tok, tok.encode("to be or"), n_positions=5)
    assert lens.top_probs.shape == (2, 5, 5) and np.allclose(lens.top_probs, 1 / V)
    assert (lens.final_rank == 0).all()  # nothing is likelier than the pick when all are equal
    assert list(lens.positions) == [3, 4, 5, 6, 7] and lens.labels == ["b", "e", "␣", "o", "r"]
    at = seeded(model, tok)
    assert sequence_html(at).count(f'title="p = {1 / V:.3f}"') == len("to be or not to b") - 1


def test_the_step_limit_disables_take_with_a_sentence():
    tok = CharTokenizer.train(CHARS)
    at = seeded(tiny(), tok)
    key = at.session_state[state._SESSION_MODELS]["tiny"].key
    full = {"origin": (key, "to be or not to b"), "added": [1] * nt.MAX_ADDED}
    at.session_state[nt._SEQUENCE] = full
    at.run()
    assert errors(at) == []
    assert at.button(key=nt.TAKE).disabled and f"{nt.MAX_ADDED} tokens added" in messages(at)
    at.button(key=nt.UNDO).click().run()
    assert not at.button(key=nt.TAKE).disabled

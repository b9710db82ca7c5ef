"""The Next token page's views without Streamlit (lab/next_token/views.py): the sampling stages
in order with their cuts and the rest summed, and surprise per character."""

from __future__ import annotations

import math

import numpy as np

from minigpt.tokenizers.tokenizer import CharTokenizer
from tests.next_token_page import (
    CHARS,
    uniform,
)


def test_stages_view_orders_cuts_and_sums_the_rest():
    from lab.next_token import views
    from minigpt.sampling import SamplingConfig

    tok = CharTokenizer.train(CHARS)  # 30 characters
    p = np.full(tok.vocab_size, 0.01)
    p[[5, 2, 9]] = [0.4, 0.2, 0.1]
    p /= p.sum()
    view = views.stages_view(
        np.log(p).astype(np.float32), SamplingConfig(temperature=1.0, top_k=2), 0, tok
    )
    assert list(view.ids[:3]) == [5, 2, 9] and len(view.ids) == views.N_SHOWN
    assert view.cut_by[:3] == ["", "", "top-k"] and view.n_kept == 2
    assert view.n_rest == tok.vocab_size - views.N_SHOWN
    assert math.isclose(view.raw.sum() + view.rest["raw"], 1.0, rel_tol=1e-5)
    assert view.rest["final"] == 0.0 and view.sampled in (5, 2)
    greedy = views.stages_view(np.log(p).astype(np.float32), SamplingConfig(temperature=0), 0, tok)
    assert greedy.sampled == 5 and greedy.sampled_rank == 0 and greedy.sampled_prob == 1.0
    nucleus = views.stages_view(
        np.log(p).astype(np.float32), SamplingConfig(temperature=1.0, top_p=0.5), 0, tok
    )
    assert nucleus.cut_by[:3] == ["", "", "top-p"]  # 0.4 / 0.97 < 0.5, adding 0.2 reaches it


def test_surprise_view_counts_the_characters_it_scored():
    from lab.next_token import views

    tok = CharTokenizer.train(CHARS)
    view = views.surprise_view(uniform(tok.vocab_size), tok, tok.encode("to be\nor"))
    assert view.n_chars == 7 and view.labels[2] == "␣" and view.labels[5] == "↵"
    assert math.isclose(view.bits_per_char, math.log2(tok.vocab_size), rel_tol=1e-5)

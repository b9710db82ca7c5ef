"""Hostile choices outside the text boxes: a comparison with no encoding picked, and greedy
sampling settings (temperature 0, top-p 0) in the sidebar."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from lab import state
from lab.compare import state as cmp_state
from tests.apptest import APP, errors, page_path
from tests.hostile import fresh, said


def test_compare_page_without_encodings_says_so() -> None:
    at = fresh(page_path("compare"), **{cmp_state.CMP_ENCODINGS: []})
    at.button(key=cmp_state.CMP_START).click().run()
    assert errors(at) == [] and "choose at least one encoding" in said(at, "error")
    at.multiselect(key=cmp_state.CMP_ENCODINGS).set_value(["rope", "alibi"]).run()
    assert errors(at) == [] and "2 runs of" in " ".join(c.value for c in at.caption)


@pytest.fixture(scope="module")
def home_page() -> AppTest:
    return fresh(APP, **{state.MAX_NEW_TOKENS: 30})


@pytest.mark.parametrize(
    ("temperature", "top_p"), [(0.0, 0.95), (0.8, 0.0), (0.0, 0.0)], ids=["T=0", "top-p=0", "both"]
)
def test_greedy_sidebar_settings_still_generate(home_page: AppTest, temperature, top_p) -> None:
    """Temperature 0 or top-p 0 is greedy decoding: text comes out, and the seed no longer matters."""
    at = home_page
    at.sidebar.slider(key=state.TEMPERATURE).set_value(temperature)
    at.sidebar.slider(key=state.TOP_P).set_value(top_p)
    at.sidebar.number_input(key=state.SEED).set_value(1).run()
    first = at.code[0].value
    at.sidebar.number_input(key=state.SEED).set_value(99).run()
    assert errors(at) == [] and at.code[0].value == first
    assert len(first) > len("ROMEO:\n") + 10
    # The ordinary interaction: back to sampling, where the seed matters again.
    at.sidebar.slider(key=state.TEMPERATURE).set_value(1.0)
    at.sidebar.slider(key=state.TOP_P).set_value(1.0).run()
    sampled = at.code[0].value
    at.sidebar.number_input(key=state.SEED).set_value(2).run()
    assert errors(at) == [] and at.code[0].value != sampled

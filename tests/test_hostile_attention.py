"""Hostile input on the Attention page: control characters, right-to-left marks, emoji joiners,
nothing the model knows, an empty and an over-long text. The rows and their check are in
tests/hostile.py."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from lab import state
from lab.attention import state as attn_state
from tests.apptest import errors, page_path
from tests.hostile import Row, check, fresh, setting

ATTENTION = [
    Row(
        "control characters",
        setting(**{attn_state.ATTN_TEXT: "\x00\x07\x1b[31mRomeo\x1b[0m\x7f\x85"}),
        "info",
        "left out",
    ),
    Row(
        "right-to-left marks",
        setting(**{attn_state.ATTN_TEXT: "\u202eROMEO\u202c \u200fJULIET\u200e \u2067x\u2069"}),
        "info",
        "left out",
    ),
    Row(
        "emoji joiners",
        setting(**{attn_state.ATTN_TEXT: "👩\u200d👩\u200d👧 👨🏽\u200d💻 🏳️\u200d🌈 a\u200db"}),
        "info",
        "left out",
    ),
    Row(
        "nothing the model knows",
        setting(**{attn_state.ATTN_TEXT: "👩\u200d👩\u200d👧\u202e\u200f"}),
        "warning",
        "nothing to feed it",
    ),
    Row("empty", setting(**{attn_state.ATTN_TEXT: ""}), "info", "Type some text"),
    Row(
        "longer than the context",
        setting(**{attn_state.ATTN_TEXT: "To be, or not to be. " * 1000}),
        "warning",
        "only the first",
    ),
]


@pytest.fixture(scope="module")
def attention_page() -> AppTest:
    return fresh(page_path("attention"), **{state.MAX_NEW_TOKENS: 20})


@pytest.mark.parametrize("row", ATTENTION, ids=lambda r: r.name)
def test_attention_page(attention_page: AppTest, row: Row) -> None:
    at = attention_page
    check(at, row)
    setting(**{attn_state.ATTN_TEXT: attn_state.ATTN_DEFAULT_TEXT})(at)
    at.radio(key=attn_state.ATTN_HEAD).set_value(1).run()  # the ordinary interaction: another head
    assert errors(at) == [] and not at.warning and not at.info
    assert at.get("plotly_chart")
    # asked (once per text: the page is shared by the rows), the model continues the text typed
    # above (there is no separate prompt box)
    if not at.code[-1].value.startswith(attn_state.ATTN_DEFAULT_TEXT):
        at.button(key="attention.continue").click().run()
    assert errors(at) == [] and at.code[-1].value.startswith(attn_state.ATTN_DEFAULT_TEXT)

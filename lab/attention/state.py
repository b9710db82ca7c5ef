"""The Attention page's widget keys and accessors."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from lab import state
from lab.engine import links

ATTN_TEXT = "attention.text"
ATTN_LAYER = "attention.layer"
ATTN_HEAD = "attention.head"
ATTN_FOCUS = "attention.focus"  # position of the token whose attention the focus view shows
ATTN_TABLE = "attention.table"  # the head-score table; its row selection picks a head
ATTN_ABLATE = "attention.ablate"  # heads switched off, as layer * n_head + head
ATTN_ABLATE_MODE = "attention.ablate_mode"  # "zero" or "mean"
ATTN_CONTINUED = "attention.continued"  # the text the student asked the model to continue
# A line short enough to fit twice in a 64-character context: the second copy is where an
# induction head looks back at what followed the same characters the first time.
ATTN_DEFAULT_TEXT = "All that glisters is not gold.\nAll that glisters is not gold."
# Letters in a random order, none twice, written twice: nothing but copying predicts the second
# copy, so on the induction model its heads draw the copying stripe plainly.
INDUCTION_EXAMPLE = "qWzKxvJbmYfPgdTlcNhrUsEo" * 2
INDUCTION_HEAD = (2, 2)  # the shipped induction model's strongest induction head
# What a link to this page carries (lab/links.py); layer, head and focus are clamped to the
# model by attention_defaults and clamp_attention_focus, as any other value is.
LINK: tuple[links.Param, ...] = (
    links.Param(ATTN_TEXT, "text", links.text(state.MAX_LINK_TEXT), ATTN_DEFAULT_TEXT),
    links.Param(ATTN_LAYER, "layer", links.integer(0, 63), 0),
    links.Param(ATTN_HEAD, "head", links.integer(0, 63), 0),
    links.Param(ATTN_FOCUS, "focus", links.integer(0, 100_000)),
)


def attention_defaults(n_layer: int, n_head: int) -> None:
    """Seed the page's widgets, and keep the layer and head inside this model's shape."""
    S = st.session_state
    S.setdefault(ATTN_TEXT, ATTN_DEFAULT_TEXT)
    if not 0 <= S.setdefault(ATTN_LAYER, 0) < n_layer:
        S[ATTN_LAYER] = 0
    if not 0 <= S.setdefault(ATTN_HEAD, 0) < n_head:
        S[ATTN_HEAD] = 0
    S.setdefault(ATTN_ABLATE_MODE, "zero")
    S[ATTN_ABLATE] = [i for i in S.get(ATTN_ABLATE, []) if 0 <= i < n_layer * n_head]


def ablated_heads(n_head: int) -> tuple[tuple[int, int], ...]:
    """The heads picked to be switched off, as (layer, head) pairs in order."""
    return tuple(divmod(i, n_head) for i in sorted(st.session_state.get(ATTN_ABLATE, [])))


def ablation_mode() -> str:
    """How the picked heads are switched off: "zero" or "mean"."""
    return st.session_state.get(ATTN_ABLATE_MODE, "zero")


def show_induction_head() -> None:
    """The "Show me an induction head" button's callback: the induction model, a repeated
    random text, and its induction head picked (callbacks run before the sidebar is drawn)."""
    S = st.session_state
    S[state.MODEL_CHOICE] = state.INDUCTION_MODEL
    S[ATTN_TEXT] = INDUCTION_EXAMPLE
    S[ATTN_LAYER], S[ATTN_HEAD] = INDUCTION_HEAD
    S[ATTN_FOCUS] = None
    S[ATTN_CONTINUED] = INDUCTION_EXAMPLE  # the copying shows in the continuation too


def clamp_attention_focus(n_tokens: int) -> None:
    """Focus the last token unless a token of this text was picked (call before the picker)."""
    focus = st.session_state.get(ATTN_FOCUS)
    if focus is None or not 0 <= focus < n_tokens:
        st.session_state[ATTN_FOCUS] = n_tokens - 1


def forget_attention_focus() -> None:
    """The text box's callback: new text, so focus its last token again."""
    st.session_state[ATTN_FOCUS] = None


def head_table_picker(n_head: int) -> Callable[[], None]:
    """The score table's on_select callback: the clicked row (layer-major) sets layer and head."""

    def pick() -> None:
        table = st.session_state.get(ATTN_TABLE)
        rows = table.selection.rows if table is not None else []
        if rows:  # positions in the original table, even after the student sorts it
            st.session_state[ATTN_LAYER], st.session_state[ATTN_HEAD] = divmod(rows[0], n_head)

    return pick


def ask_to_continue() -> None:
    """The continue button's callback: continue the text as it is now."""
    st.session_state[ATTN_CONTINUED] = st.session_state.get(ATTN_TEXT)


def continuation_asked() -> bool:
    """The student asked for a continuation of the text as it stands (a new text asks again)."""
    S = st.session_state
    return S.get(ATTN_CONTINUED) is not None and S.get(ATTN_CONTINUED) == S.get(ATTN_TEXT)

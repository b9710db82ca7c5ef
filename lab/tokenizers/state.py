"""The Tokenizers page's widget keys and accessors."""

from __future__ import annotations

from typing import Any

import streamlit as st

from lab import state
from lab.engine import links

TOK_SOURCE = "tokenizers.source"  # which corpus BPE trains on: one of TOK_SOURCES
TOK_PASTE = "tokenizers.paste"  # pasted corpus text
TOK_UPLOAD = "tokenizers.upload"  # uploaded corpus file
TOK_VOCAB = "tokenizers.vocab_size"
TOK_PRESPLIT = "tokenizers.presplit"  # GPT-4 style regex pre-split on or off
TOK_STEP = "tokenizers.step"  # merges applied so far, k
TOK_TEXT = "tokenizers.text"  # the text shown tokenized
TOK_QUERY = "tokenizers.query"  # vocabulary table filter
TOK_PREV = "tokenizers.prev"  # step buttons, keyed so browser tests can find them
TOK_NEXT = "tokenizers.next"
TOK_SOURCES = ("Shakespeare", "Paste text", "Upload a file")
TOK_DEFAULTS: dict[str, Any] = {
    TOK_SOURCE: TOK_SOURCES[0],
    TOK_PASTE: "",
    TOK_VOCAB: 512,
    TOK_PRESPLIT: False,
    TOK_STEP: 1,
    TOK_TEXT: (
        "ROMEO:\nBut, soft! what light through yonder window breaks?\n"
        "It is the east, and Juliet is the sun.\n\n"
        "\tIn 2024 a <rose> & a 🌹 cost $3.50."
    ),
    TOK_QUERY: "",
}
# What a link to this page carries (lab/links.py): an uploaded file cannot travel in a link.
LINK: tuple[links.Param, ...] = (
    links.Param(
        TOK_SOURCE,
        "source",
        links.choice(TOK_SOURCES[:2]),
        TOK_DEFAULTS[TOK_SOURCE],
        note="The link asked for an uploaded corpus, which cannot travel in a link; this view "
        "trains on Shakespeare.",
    ),
    links.Param(TOK_PASTE, "corpus", links.text(state.MAX_LINK_TEXT), TOK_DEFAULTS[TOK_PASTE]),
    links.Param(TOK_VOCAB, "vocab_size", links.integer(256, 2048), TOK_DEFAULTS[TOK_VOCAB]),
    links.Param(TOK_PRESPLIT, "presplit", links.flag, TOK_DEFAULTS[TOK_PRESPLIT]),
    links.Param(TOK_STEP, "step", links.integer(0, 2048), TOK_DEFAULTS[TOK_STEP]),
    links.Param(TOK_TEXT, "text", links.text(state.MAX_LINK_TEXT), TOK_DEFAULTS[TOK_TEXT]),
    links.Param(TOK_QUERY, "find", links.text(100), TOK_DEFAULTS[TOK_QUERY]),
)


def tokenizers_defaults() -> None:
    """Seed the page's widgets, so they need no `value=` and callbacks may set them."""
    state.seed(TOK_DEFAULTS)


def tokenizers_step() -> int:
    """How many merges the stepper shows as applied."""
    return int(st.session_state.get(TOK_STEP, TOK_DEFAULTS[TOK_STEP]))


def clamp_tokenizers_step(n_merges: int) -> None:
    """Keep the step inside 0..n_merges (a smaller vocabulary has fewer merges to step to)."""
    step = tokenizers_step()
    if not 0 <= step <= n_merges:
        st.session_state[TOK_STEP] = min(max(step, 0), n_merges)


def shift_tokenizers_step(delta: int, n_merges: int) -> None:
    """The previous/next buttons' callback: move the step slider by delta, within range."""
    st.session_state[TOK_STEP] = min(max(tokenizers_step() + delta, 0), n_merges)

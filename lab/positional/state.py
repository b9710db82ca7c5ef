"""The Positional page's widget keys and accessors."""

from __future__ import annotations

import streamlit as st

from lab.engine import links

POS_N = "positional.n_pos"  # positions drawn by the formula-based views
POS_WIDTH = "positional.width"  # dimensions of the vector being encoded
POS_DIMS = "positional.dims"  # dimensions drawn as waves over position
POS_ALIBI_HEAD = "positional.alibi_head"
POS_MAX_N = 256  # a 256 x 256 similarity map is about the most a browser draws briskly
POS_MAX_WIDTH = 256
POS_WAVE_DIMS = (0, 1, 8, 9, 40)  # fast, fast, slower, slower, slow: the default waves
POS_MAX_WAVES = 8  # dimensions drawn as waves at once
# What a link to this page carries (lab/links.py); the defaults depend on the model.
LINK: tuple[links.Param, ...] = (
    links.Param(POS_N, "positions", links.integer(8, POS_MAX_N)),
    links.Param(POS_WIDTH, "width", links.integer(8, POS_MAX_WIDTH)),
    links.Param(POS_DIMS, "dims", links.int_list(0, POS_MAX_WIDTH - 1, POS_MAX_WAVES)),
    links.Param(POS_ALIBI_HEAD, "head", links.integer(0, 63)),
)


def positional_defaults(block_size: int, n_embd: int, n_head: int) -> None:
    """Seed the page's widgets from the model's shape, and keep earlier choices in range."""
    S = st.session_state
    S.setdefault(POS_N, min(max(block_size, 8), POS_MAX_N))
    S.setdefault(POS_WIDTH, min(max(8 * (n_embd // 8), 8), POS_MAX_WIDTH))
    width = int(S[POS_WIDTH])
    dims = S.setdefault(POS_DIMS, [d for d in POS_WAVE_DIMS if d < width])
    if any(d >= width for d in dims):  # a narrower width has no such dimension any more
        S[POS_DIMS] = [d for d in dims if d < width]
    if not 0 <= S.setdefault(POS_ALIBI_HEAD, 0) < n_head:
        S[POS_ALIBI_HEAD] = 0

"""The Compare page's widget keys and accessors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from lab import state
from lab.compare.entries import LIVE_PRESETS
from lab.engine import links
from minigpt.config import POS_EMBS

CMP_READING = "compare.reading"  # extrapolation reading: "windows" or "position"
CMP_METRIC = "compare.metric"  # curves in "loss" or "perplexity"
CMP_ENCODINGS = "compare.encodings"  # encodings the live comparison trains
CMP_PRESET = "compare.preset"  # a name from lab.compare.entries.LIVE_PRESETS
CMP_SEEDS = "compare.seeds"  # how many seeds the live comparison trains (1-3)
CMP_IMPORTED = "compare.imported"  # names of finished training-page runs added to yours
CMP_PROMPT = "compare.prompt"  # the prompt every model continues
CMP_START = "compare.start"  # buttons, keyed so browser tests can find them
CMP_STOP = "compare.stop"
CMP_RESET = "compare.reset"
_CMP_LIVE = "compare.live"  # this session's live comparison, flags and lock (lab.compare.live.Live)
CMP_DEFAULTS: dict[str, Any] = {
    CMP_READING: "windows",
    CMP_METRIC: "loss",
    CMP_ENCODINGS: ["learned", "sinusoidal", "rope", "alibi", "none"],
    CMP_SEEDS: 1,
    CMP_IMPORTED: [],
    CMP_PROMPT: "ROMEO:\n",
}
# What a link to this page carries (lab/links.py): the settings, never the runs themselves.
LINK: tuple[links.Param, ...] = (
    links.Param(CMP_READING, "reading", links.choice(("windows", "position")), "windows"),
    links.Param(CMP_METRIC, "metric", links.choice(("loss", "perplexity")), "loss"),
    links.Param(CMP_ENCODINGS, "encodings", links.subset(POS_EMBS), CMP_DEFAULTS[CMP_ENCODINGS]),
    links.Param(CMP_PRESET, "preset", links.choice(LIVE_PRESETS)),
    links.Param(CMP_SEEDS, "seeds", links.choice((1, 2, 3)), CMP_DEFAULTS[CMP_SEEDS]),
    links.Param(CMP_PROMPT, "prompt", links.text(state.MAX_LINK_TEXT), CMP_DEFAULTS[CMP_PROMPT]),
)


def compare_defaults(preset: str, imported: list[str]) -> None:
    """Seed the page's widgets (see lab.state.seed), keeping the chosen finished runs to those
    that still exist."""
    state.seed({**CMP_DEFAULTS, CMP_PRESET: preset})
    st.session_state[CMP_IMPORTED] = [n for n in st.session_state[CMP_IMPORTED] if n in imported]


def compare_live(factory: Callable[[], Any]) -> Any:
    """This session's live comparison box, made by factory() on first use."""
    if _CMP_LIVE not in st.session_state:
        st.session_state[_CMP_LIVE] = factory()
    return st.session_state[_CMP_LIVE]


def chosen_run() -> tuple[list[str], str, int]:
    """The live comparison the controls describe: (encodings, preset name, number of seeds)."""
    S = st.session_state
    return list(S[CMP_ENCODINGS]), S[CMP_PRESET], int(S[CMP_SEEDS])


def compare_prompt() -> str:
    """The prompt every model continues ("\n" when it is empty: a model needs a token)."""
    return st.session_state.get(CMP_PROMPT) or "\n"


def compare_imported() -> list[str]:
    """Names of the finished runs chosen for the comparison."""
    return list(st.session_state.get(CMP_IMPORTED, []))

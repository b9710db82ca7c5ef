"""The lab's fragments: st.fragment, with every run taking a page turn (lab/engine/turns.py).

A fragment's rerun skips the router, so lab/app.py's turn does not cover it; a fragment made
with plain st.fragment would draw beside other pages and bring back the interpreter-lock toll
turns exist to remove. tests/test_imports.py keeps st.fragment to this module.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import streamlit as st

from lab.engine.turns import in_turn


def fragment(draw: Callable[..., Any] | None = None, *, run_every: float | None = None) -> Any:
    """st.fragment(draw, run_every=...), drawn in turn; as a decorator too (`@fragment`).

    A fragment with run_every is a poll: trainers do not give way to it (lab/engine/turns.py,
    page_turn), so a run does not pause each time its page looks at it.
    Example: fragment(_live, run_every=2)()
    """
    if draw is None:
        return functools.partial(fragment, run_every=run_every)
    return st.fragment(in_turn(draw, counted=run_every is None), run_every=run_every)

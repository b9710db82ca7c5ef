"""The Next token page's session-state keys and typed accessors (the only place naming them).

The sequence built one token at a time belongs to a model and a prompt: change either and it
starts again from the prompt. Every accessor has a default, so the page also runs alone.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from lab.engine import links

PROMPT = "next_token.prompt"
HIDE = "next_token.hide"  # predict first: the distribution stays hidden until revealed
REVEAL = "next_token.reveal"  # the Reveal button
TAKE = "next_token.take"  # take the sampled token
FORCE = "next_token.force"  # pills of candidates: clicking one forces it
UNDO = "next_token.undo"
RESTART = "next_token.restart"
TEXT = "next_token.text"  # the surprise text
EXAMPLE = "next_token.example"  # which example text fills the surprise box
_SEQUENCE = "next_token.sequence"  # {"origin": (model key, prompt), "added": [ids]}
_REVEALED = "next_token.revealed"  # (origin, length) of the sequence last revealed

DEFAULT_PROMPT = "ROMEO:\nBut, soft! what light through yonder window breaks?\nIt is the e"
EXAMPLES = {
    "A Shakespeare passage": (
        "ROMEO:\nBut, soft! what light through yonder window breaks?\n"
        "It is the east, and Juliet is the sun.\n"
        "Arise, fair sun, and kill the envious moon,\n"
        "Who is already sick and pale with grief,\n"
        "That thou her maid art far more fair than she."
    ),
    "An obvious continuation": (
        "one, two, three, four, five, six, seven, eight, nine, ten. "
        "One, two, three, four, five, six, seven, eight, nine, ten."
    ),
}
MAX_PROMPT_CHARS = 2_000  # the model reads only its context of it anyway
MAX_TEXT_CHARS = 3_000  # surprise reads all of it, a window at a time
MAX_ADDED = 200  # tokens added one at a time before the page asks for a restart
# What a link to this page carries (lab/links.py); the tokens added one at a time stay behind.
LINK: tuple[links.Param, ...] = (
    links.Param(PROMPT, "prompt", links.text(MAX_PROMPT_CHARS), DEFAULT_PROMPT),
    links.Param(HIDE, "hide", links.flag, False),
    links.Param(EXAMPLE, "example", links.choice(EXAMPLES), next(iter(EXAMPLES))),
    links.Param(TEXT, "text", links.text(MAX_TEXT_CHARS), next(iter(EXAMPLES.values()))),
)


def defaults() -> None:
    """Seed the page's widgets (written back, so a value survives a run that skipped them)."""
    S = st.session_state
    S[PROMPT] = S.get(PROMPT, DEFAULT_PROMPT)
    S[HIDE] = S.get(HIDE, False)
    S[EXAMPLE] = S.get(EXAMPLE, next(iter(EXAMPLES)))
    S[TEXT] = S.get(TEXT, EXAMPLES[S[EXAMPLE]])


def fill_example() -> None:
    """The example picker's callback: put that example in the surprise box."""
    st.session_state[TEXT] = EXAMPLES[st.session_state[EXAMPLE]]


def added(origin: tuple[str, str]) -> list[int]:
    """Tokens added after the prompt so far; a new model or prompt (origin) starts again."""
    seq = st.session_state.get(_SEQUENCE)
    if seq is None or seq["origin"] != origin:
        seq = st.session_state[_SEQUENCE] = {"origin": origin, "added": []}
    return seq["added"]


def append_token(origin: tuple[str, str], token: int) -> None:
    """Add one token (a button's callback: runs before the page, which then shows the next)."""
    tokens = added(origin)
    if len(tokens) < MAX_ADDED:
        tokens.append(int(token))


def force_picked(origin: tuple[str, str]) -> Callable[[], None]:
    """The candidate pills' callback: add the clicked token, then clear the pills."""

    def force() -> None:
        token = st.session_state.get(FORCE)
        if token is not None:
            append_token(origin, token)
        st.session_state[FORCE] = None

    return force


def undo(origin: tuple[str, str]) -> None:
    """Take back the last added token (nothing to do at the prompt)."""
    tokens = added(origin)
    if tokens:
        tokens.pop()


def restart(origin: tuple[str, str]) -> None:
    """Back to the prompt alone."""
    added(origin).clear()


def hidden(origin: tuple[str, str], length: int) -> bool:
    """Is the distribution for this sequence still hidden (predict first is on, not revealed)?"""
    return bool(st.session_state.get(HIDE, False)) and st.session_state.get(_REVEALED) != (
        origin,
        length,
    )


def reveal(origin: tuple[str, str], length: int) -> None:
    """Show the distribution for this sequence; the next token hides it again."""
    st.session_state[_REVEALED] = (origin, length)

"""Session state every page shares: the sidebar's keys, the session's models and finished runs.

Each page's own keys and accessors live in its folder's state.py (lab/training/state.py, ...);
these modules are the only ones that touch st.session_state. Every accessor has a default,
so each page also runs alone (under AppTest, say) without the router having set anything first.
"""

from __future__ import annotations

import copy
from collections.abc import MutableMapping
from typing import Any

import streamlit as st

from lab.engine import links
from lab.engine.budget import MAX_MODELS_PER_SESSION, MAX_RUNS_PER_SESSION
from minigpt.sampling import SamplingConfig

SHIPPED_MODEL = "Shipped Shakespeare model"
INDUCTION_MODEL = "Shipped induction model"  # copies from its context: the attention lesson

# Sidebar widget keys.
TEMPERATURE = "temperature"
TOP_K = "top_k"
TOP_P = "top_p"
MAX_NEW_TOKENS = "max_new_tokens"
SEED = "seed"
MODEL_CHOICE = "model_choice"

DEFAULTS: dict[str, Any] = {
    TEMPERATURE: 0.8,
    TOP_K: 0,  # 0 = off
    TOP_P: 0.95,
    # With the default prompt this stays inside the shipped model's 128-token context, where
    # cached keys and values make each new token cheap (see minigpt/kvcache.py); a longer
    # sample costs a full pass over the window per token past it (benchmarks/RESULTS.md).
    MAX_NEW_TOKENS: 120,
    SEED: 1337,
    MODEL_CHOICE: SHIPPED_MODEL,
}

HOME_PROMPT = "home.prompt"  # the home page's generate box (the home page has no folder)
HOME_DEFAULT_PROMPT = "ROMEO:\n"
MAX_LINK_TEXT = 2_000  # characters of text a link may carry into a text box

# What a link carries on every page (the sidebar), and on the home page; ranges as the widgets'.
SIDEBAR_LINK: tuple[links.Param, ...] = (
    links.Param(
        MODEL_CHOICE,
        "model",
        links.choice([SHIPPED_MODEL, INDUCTION_MODEL]),
        DEFAULTS[MODEL_CHOICE],
        note="The link names a model trained or uploaded in another session; models stay in "
        "the session that made them, so this view uses the shipped model.",
    ),
    links.Param(TEMPERATURE, "temperature", links.real(0.0, 2.0), DEFAULTS[TEMPERATURE]),
    links.Param(TOP_K, "top_k", links.integer(0, 100), DEFAULTS[TOP_K]),
    links.Param(TOP_P, "top_p", links.real(0.0, 1.0), DEFAULTS[TOP_P]),
    links.Param(
        MAX_NEW_TOKENS, "max_new_tokens", links.integer(10, 1000), DEFAULTS[MAX_NEW_TOKENS]
    ),
    links.Param(SEED, "seed", links.integer(0, 2**31 - 1), DEFAULTS[SEED]),
)
HOME_LINK: tuple[links.Param, ...] = (
    links.Param(HOME_PROMPT, "prompt", links.text(MAX_LINK_TEXT), HOME_DEFAULT_PROMPT),
)

_SESSION_MODELS = "session_models"  # name -> LabModel, trained or uploaded in this session


def session(override: MutableMapping[str, Any] | None = None) -> MutableMapping[str, Any]:
    """The session state the accessors read: Streamlit's, or one a test passes in (an AppTest's
    `at.session_state`), so tests go through the same accessors as pages."""
    return st.session_state if override is None else override


def seed(values: dict[str, Any]) -> None:
    """Give every widget key its value unless the student set one, and write it back.

    Written back every run, not set once: Streamlit resets a widget that was not drawn in the
    previous run (a bad input stopped the page early, or another page ran), and a value written
    through session state survives that.
    """
    S = st.session_state
    for key, value in values.items():
        S[key] = S[key] if key in S else copy.copy(value)


def get(key: str) -> Any:
    """A sidebar value, or its default when the sidebar was never drawn."""
    return st.session_state.get(key, DEFAULTS[key])


def sidebar_defaults(model_names: list[str]) -> None:
    """Seed the sidebar's widgets, and fall back to the shipped model when the chosen one is
    gone (a model from a session that was reset)."""
    seed(DEFAULTS)
    if st.session_state[MODEL_CHOICE] not in model_names:
        st.session_state[MODEL_CHOICE] = SHIPPED_MODEL


def model_choice(session_override: MutableMapping[str, Any] | None = None) -> str:
    """The name of the model chosen in the sidebar."""
    S = session(session_override)
    return S[MODEL_CHOICE] if MODEL_CHOICE in S else DEFAULTS[MODEL_CHOICE]


def sampling() -> SamplingConfig:
    """The sidebar's sampling settings as one frozen value (it keys caches)."""
    top_k, top_p = int(get(TOP_K)), float(get(TOP_P))
    return SamplingConfig(
        temperature=float(get(TEMPERATURE)),
        top_k=top_k or None,
        top_p=top_p if top_p < 1.0 else None,
        max_new_tokens=int(get(MAX_NEW_TOKENS)),
        seed=int(get(SEED)),
    )


def session_models(session_override: MutableMapping[str, Any] | None = None) -> dict[str, Any]:
    """Models this session made or uploaded, by display name (never shared with other sessions)."""
    S = session(session_override)
    if _SESSION_MODELS not in S:
        S[_SESSION_MODELS] = {}
    return S[_SESSION_MODELS]


def add_session_model(
    name: str,
    lab_model: Any,
    select: bool = True,
    session_override: MutableMapping[str, Any] | None = None,
) -> list[str]:
    """Offer a model in the sidebar's model choice, and optionally switch to it.

    A session keeps at most budget.MAX_MODELS_PER_SESSION models (each holds its weights in the
    server's memory): past that the oldest are let go, as a teacher clearing the board would,
    and their names are returned so the page can say so. Re-adding a name replaces it in place.
    """
    S = session(session_override)
    models = {k: v for k, v in session_models(S).items() if k != name}
    dropped = list(models)[: max(0, len(models) + 1 - MAX_MODELS_PER_SESSION)]
    S[_SESSION_MODELS] = {**{k: v for k, v in models.items() if k not in dropped}, name: lab_model}
    if select or (MODEL_CHOICE in S and S[MODEL_CHOICE] in dropped):
        S[MODEL_CHOICE] = name
    return dropped


def dropped_sentence(dropped: list[str]) -> str:
    """What the page says when adding a model let older ones go ("" when none was)."""
    if not dropped:
        return ""
    names = ", ".join(f"“{n}”" for n in dropped)
    return (
        f" This session keeps at most {MAX_MODELS_PER_SESSION} models of its own, so the oldest, "
        f"{names}, {'was' if len(dropped) == 1 else 'were'} let go."
    )


# Uploads refused in this session, by the file's digest: a file left in an uploader is
# re-sent on every rerun, and is answered from here instead of being read again.
_REFUSED_UPLOADS = "refused_uploads"


def refused_upload(digest: str) -> str | None:
    """The sentence a file with this digest was refused with earlier, or None."""
    return st.session_state.get(_REFUSED_UPLOADS, {}).get(digest)


MAX_REFUSED_UPLOADS = 16  # refusals remembered per session; the oldest is forgotten first


def remember_refused_upload(digest: str, sentence: str) -> None:
    refused = st.session_state.setdefault(_REFUSED_UPLOADS, {})
    refused[digest] = sentence
    for old in list(refused)[: max(0, len(refused) - MAX_REFUSED_UPLOADS)]:
        del refused[old]


# Runs kept for the compare page (the training page adds, the compare page reads).
_FINISHED_RUNS = "finished_runs"
# Each record holds a frozen copy of its model: a student who trains run after run keeps the
# last few (enough to set every positional encoding side by side), not every one.
MAX_FINISHED_RUNS = 6


def finished_runs(session_override: MutableMapping[str, Any] | None = None) -> list:
    """RunRecords this session finished or stopped, oldest first (see lab/engine/runs.py)."""
    S = session(session_override)
    if _FINISHED_RUNS not in S:
        S[_FINISHED_RUNS] = []
    return S[_FINISHED_RUNS]


def add_finished_run(record: Any, session_override: MutableMapping[str, Any] | None = None) -> None:
    """Keep a run for the compare page, replacing an older record of the same name; past
    MAX_FINISHED_RUNS the oldest is let go."""
    S = session(session_override)
    kept = [r for r in finished_runs(S) if r.name != record.name] + [record]
    S[_FINISHED_RUNS] = kept[-MAX_FINISHED_RUNS:]


# This session's background trainer (lab/engine/session.py, made by lab/live.py).
_TRAINER = "live.trainer"


def trainer() -> Any | None:
    """This session's background trainer, if it made one."""
    return st.session_state.get(_TRAINER)


def remember_trainer(holder: Any, session_override: MutableMapping[str, Any] | None = None) -> None:
    session(session_override)[_TRAINER] = holder


def trainer_in(session_override: MutableMapping[str, Any]) -> Any | None:
    """The background trainer a session state holds, if any (tests read an AppTest's)."""
    return session_override.get(_TRAINER)


# The live boxes this session has started training in, by the page that holds each.
_TRAINERS = "trainers"


def busy_training(page: str, box: Any) -> str | None:
    """Note that `page`'s box wants to train; a sentence if this session already trains as
    much as it may elsewhere (budget.MAX_RUNS_PER_SESSION), else None.

    Each page keeps its own box, so without this one tab could train on both pages at once
    and take two of the server's trainer slots.
    """
    boxes = st.session_state.setdefault(_TRAINERS, {})
    boxes[page] = box
    busy = [name for name, b in boxes.items() if b is not box and getattr(b, "running", False)]
    if len(busy) < MAX_RUNS_PER_SESSION:
        return None
    return (
        f"this session is already training on the {busy[0]} page, and each session trains "
        f"{MAX_RUNS_PER_SESSION} thing at a time on this shared server: stop it there first"
    )

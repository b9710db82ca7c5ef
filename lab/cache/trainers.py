"""The trainer slots every session shares, and the session-scoped resources whose release
stops a session's training threads when its tab is gone."""

from __future__ import annotations

import os

import streamlit as st

from lab.engine.background import BackgroundTrainer
from lab.engine.session import SessionTrainer
from lab.engine.slots import TrainerSlots


@st.cache_resource
def trainer_slots() -> TrainerSlots:
    """The cap on sessions training at once, shared by all (MINIGPT_MAX_TRAINERS, default 2)."""
    return TrainerSlots(max(1, int(os.environ.get("MINIGPT_MAX_TRAINERS", "2"))))


def _end_session(trainers: list[SessionTrainer]) -> None:
    for holder in trainers:
        holder.close()  # the tab went away: stop its training, which frees its trainer slot


@st.cache_resource(scope="session", on_release=_end_session, show_spinner=False)
def session_trainers() -> list[SessionTrainer]:
    """The background trainers a session made (one), stopped as soon as its tab disconnects:
    Streamlit clears a session's session-scoped resources then, and keeps only its session
    state for a reconnect (server.disconnectedSessionTTL).

    The trainer itself lives in the session's state: AppTest gives every test session the same
    id, so only session state tells two of them apart; this list is the release hook.
    """
    return []


def _stop_finetune(trainer: BackgroundTrainer) -> None:
    trainer.close()


@st.cache_resource(scope="session", on_release=_stop_finetune, show_spinner=False)
def finetune_trainer() -> BackgroundTrainer:
    """This session's fine-tuning thread; stopped when the session ends (its tab closed)."""
    return BackgroundTrainer(trainer_slots())

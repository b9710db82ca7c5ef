"""Training that goes on while the student explores: the Streamlit side of this session's
background trainer (lab/engine/session.py), shared by the pages that train.

A page hands its work (a LiveRun, a LiveComparison, a fine-tune) to `start`, from a button's
on_click callback; a thread trains it, whatever page is open, until it is done or stopped. The
page draws what the work has so far in a fragment that polls every POLL_SECONDS while it
trains (`poll_every`), and stops polling once training ends (`redraw_when_ended`). The trainer
lives in the session's state, and a session-scoped resource (lab/cache/trainers.py) stops it
when the session ends: the tab went away, so the thread stops and its trainer slot goes back.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lab import cache, state
from lab.engine.session import SessionTrainer
from lab.engine.turns import waiting_aside

POLL_SECONDS = 2.0  # how often a page's charts look at a run that trains (each look costs the run)
STATUS_SECONDS = 2.0  # how often the sidebar's status line does
LAST_STEP_MARGIN = 0.25  # how long past its due time a page waits for a run's last step


_frozen = False


def freeze_startup_objects() -> None:
    """Move every object alive now (torch, pandas, Streamlit: ~250,000 of them, almost all
    immortal modules and classes) out of the garbage collector's sight, once per process.

    Streamlit runs a full gc.collect() after every script run (runner.postScriptGC), polling
    fragments included; walking all those objects took 0.35 s here, holding the interpreter
    the training thread needs. Frozen, a collection only walks what was made since.
    """
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()  # nothing that is garbage now gets frozen
        gc.freeze()


def session() -> SessionTrainer:
    """This session's trainer (made on first use, stopped when the session ends)."""
    holder = state.trainer()
    if holder is None:
        freeze_startup_objects()
        holder = SessionTrainer(cache.trainer_slots())
        state.remember_trainer(holder)
        cache.session_trainers().append(holder)  # stopped when the session ends
    return holder


def in_fragment_rerun() -> bool:
    """Whether this script run is a fragment's own rerun (not a full run of the page)."""
    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


def start(name: str, work: Any) -> str | None:
    """Train work in the background (from an on_click callback); returns the name of another
    job of this session that it paused, if any."""
    return session().start(name, work)


def stop(work: Any) -> None:
    """Stop work after its current slice; the trainer slot goes back at once."""
    session().stop(work)


def forget(work: Any) -> None:
    """Stop work and drop it from the session (its page was reset)."""
    session().forget(work)


def trains(work: Any) -> bool:
    """Whether work is training (or queued for a trainer slot) now."""
    return session().trains(work)


def error_of(work: Any) -> str | None:
    """Why the thread stopped training work early (an unexpected error), if it did."""
    holder = session()
    if work is not None and holder.job is not None and holder.job.work is work:
        return holder.trainer.error
    return None


def begin_full_run() -> None:
    """Called once per full run (by the sidebar): note whether fragments poll in this run."""
    if not in_fragment_rerun():
        holder = session()
        holder.polling = holder.trainer.alive


def poll_every(work: Any = None, seconds: float = POLL_SECONDS) -> float | None:
    """A fragment's run_every: `seconds` while work (any work if None) trains or finishes its
    last slice after Stop, else None."""
    holder = session()
    if work is None:
        busy = holder.trainer.alive
    else:
        busy = holder.trains(work) or holder.finishing(work)
    return seconds if busy else None


def finishing(work: Any) -> bool:
    """Whether work was stopped and is finishing its current slice."""
    return session().finishing(work)


def await_last_step(work: Any, before: float = POLL_SECONDS) -> None:
    """In a polling fragment: when work is due to finish before the next look (`before`
    seconds away, at its recent pace), wait here for its end, so the page says "finished" just
    after the last step rather than up to a poll interval later. The wait sleeps, leaving the
    interpreter to the trainer, hands the page turn on, and never lasts past the next look
    would have come."""
    if not in_fragment_rerun() or not trains(work) or not hasattr(work, "eta_seconds"):
        return
    eta = work.eta_seconds()
    if eta is None or eta >= before:
        return
    deadline = time.monotonic() + min(before, eta + LAST_STEP_MARGIN)
    with waiting_aside():  # the class draws meanwhile, and the run is not held up by this wait
        while trains(work) and time.monotonic() < deadline:
            time.sleep(0.05)


def redraw_when_ended() -> None:
    """The end of a polling fragment: once the training thread has ended (done, or stopped
    and its last slice finished), redraw the whole page once, which turns every fragment's
    polling off, updates the buttons and keeps the run for the Compare page."""
    if in_fragment_rerun() and session().ended():
        st.rerun()


def buttons(
    work: Any,
    keys: Sequence[str],
    on_start: Callable[..., None],
    on_reset: Callable[[], None],
    *,
    can_start: bool,
    reset_help: str,
    start_args: tuple[Any, ...] = (),
) -> DeltaGenerator:
    """Start (Resume once there is work), Stop and Reset in a row; returns the row's last,
    wide column for a note. keys are the three buttons' widget keys, in that order."""
    start_key, stop_key, reset_key = keys
    running = trains(work)
    cols = st.columns([2, 2, 2, 5], vertical_alignment="center")  # "Resume" fits at 1024 px
    cols[0].button(
        "Resume" if work is not None else "Start",
        key=start_key,
        type="primary",
        width="stretch",
        on_click=on_start,
        args=start_args,
        disabled=running or not can_start,
    )
    cols[1].button(
        "Stop",
        key=stop_key,
        on_click=stop,
        args=(work,),
        disabled=not running,
        width="stretch",
    )
    cols[2].button(
        "Reset",
        key=reset_key,
        on_click=on_reset,
        disabled=work is None,
        width="stretch",
        help=reset_help,
    )
    return cols[3]

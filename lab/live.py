"""Training inside a page without freezing it, shared by the Training and Compare pages.

Pattern C of the Streamlit notes: a fragment trains for a slice of a second, draws, and reruns
itself, so Stop lands within a second and the charts grow while the model learns. What both
pages need around that loop lives here: the per-session box (its trainer-slot owner, a lock so
an overlapping full rerun never trains the same model at once, the running flag), one slice
of training under the server's trainer cap, the fragment's "go on or stop" at its end, and the
Start / Stop / Reset row.
"""

from __future__ import annotations

import gc
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lab import cache

WAIT_SECONDS = 1.0  # how often a queued session looks for a free trainer slot


@dataclass(eq=False)
class LiveBox:
    """One session's live training; kept in st.session_state, so it belongs to that tab alone."""

    owner: str = field(default_factory=lambda: uuid.uuid4().hex)  # holds a trainer slot
    lock: threading.Lock = field(default_factory=threading.Lock)  # one slice at a time
    running: bool = False
    waiting: int = 0  # other sessions training when this one last asked for a slot
    message: str | None = None  # why the last Start was refused (shown once)
    refresh: bool = False  # training ended inside the fragment: redraw the whole page once


def in_fragment_rerun() -> bool:
    """Whether this script run is a fragment's own rerun (not a full run of the page)."""
    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


_frozen = False


def freeze_startup_objects() -> None:
    """Move every object alive now (torch, pandas, Streamlit: ~250,000 of them, almost all
    immortal modules and classes) out of the garbage collector's sight, once per process.

    Streamlit runs a full gc.collect() after every script run (runner.postScriptGC), fragment
    reruns included; walking all those objects took 0.35 s here, as long as a training slice.
    Frozen, a collection only walks what was made since, and the loop trains instead.
    """
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()  # nothing that is garbage now gets frozen
        gc.freeze()


def train_slice(box: LiveBox, advance: Callable[[], bool]) -> None:
    """Train one slice if this session holds a trainer slot, else note that it waits.

    advance() trains and says whether the work is over; it runs under the box's lock, and is
    skipped when another script run of this session is mid-slice (a full rerun overlapped).
    """
    freeze_startup_objects()
    slots = cache.trainer_slots()
    if not slots.acquire(box.owner):
        box.waiting = max(1, slots.others(box.owner))
        return
    box.waiting = 0
    if not box.lock.acquire(blocking=False):
        return
    try:
        over = advance()
    finally:
        box.lock.release()
    if over:
        box.running, box.refresh = False, True
        slots.release(box.owner)


def stop(box: LiveBox) -> None:
    """Stop after the current step, and give the trainer slot back at once."""
    box.running = False
    cache.trainer_slots().release(box.owner)


def release_if_idle(box: LiveBox) -> None:
    """A session holds a trainer slot only while it trains."""
    if not box.running:
        cache.trainer_slots().release(box.owner)


def go_on(box: LiveBox, may_loop: bool = True) -> None:
    """The end of the training fragment: rerun it for the next slice, or redraw the page once.

    Only a fragment rerun may rerun itself (st.rerun(scope="fragment") raises during a full
    run); after a full run the fragment's run_every timer restarts the chain. When training
    ended inside the fragment, a full rerun updates the buttons and sections outside it.
    """
    if box.running:
        if in_fragment_rerun() and may_loop:
            if box.waiting:
                time.sleep(WAIT_SECONDS)  # queued: look for a free slot again in a moment
            st.rerun(scope="fragment")
    elif box.refresh:
        box.refresh = False
        st.rerun()


def buttons(
    box: LiveBox,
    keys: Sequence[str],
    on_start: Callable[..., None],
    on_reset: Callable[[], None],
    *,
    has_work: bool,
    can_start: bool,
    reset_help: str,
    start_args: tuple[Any, ...] = (),
) -> DeltaGenerator:
    """Start (Resume once there is work), Stop and Reset in a row; returns the row's last,
    wide column for a note. keys are the three buttons' widget keys, in that order."""
    start_key, stop_key, reset_key = keys
    cols = st.columns([2, 2, 2, 5], vertical_alignment="center")  # "Resume" fits at 1024 px
    cols[0].button(
        "Resume" if has_work else "Start",
        key=start_key,
        type="primary",
        width="stretch",
        on_click=on_start,
        args=start_args,
        disabled=box.running or not can_start,
    )
    cols[1].button(
        "Stop",
        key=stop_key,
        on_click=stop,
        args=(box,),
        disabled=not box.running,
        width="stretch",
    )
    cols[2].button(
        "Reset",
        key=reset_key,
        on_click=on_reset,
        disabled=not has_work,
        width="stretch",
        help=reset_help,
    )
    return cols[3]

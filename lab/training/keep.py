"""The Live training page's last part: use the trained model on the other pages, download it
and its metrics, or upload a checkpoint to continue training or to explore it."""

from __future__ import annotations

import hashlib
import threading

import streamlit as st

from lab import live, state
from lab.charts import file_label, markdown_literal
from lab.engine import budget, metrics
from lab.engine.liverun import LiveRun
from lab.engine.models import LabModel
from lab.engine.runspec import LIVE_TRAIN, RunError
from lab.engine.turns import locked_in_turn
from lab.training import state as train_state
from lab.training.loop import reset, session
from lab.training.setup import Setup
from minigpt.training.checkpoint import CheckpointError, load_checkpoint


def _use() -> None:
    box = session()
    run = box.run
    if run is None:
        return
    with locked_in_turn(live.session().lock, 5) as locked:
        if not locked:
            return
        name = f"{box.name} (step {run.steps_done:,})"
        dropped = state.add_session_model(
            name, LabModel(name, run.frozen_model(), run.tokenizer, run.metrics_rows())
        )
        box.notice = (
            f"**{name}** is now the model every page shows (pick another in the sidebar)."
            + markdown_literal(state.dropped_sentence(dropped))
        )


def _checkpoint_bytes(lock: threading.Lock, run: LiveRun):
    def make() -> bytes:
        with lock:  # runs on its own thread: never while a slice trains
            return run.to_checkpoint_bytes()

    return make


def _metrics_csv(lock: threading.Lock, run: LiveRun):
    def make() -> str:
        with lock:
            rows = run.metrics_rows()
        return metrics.to_csv(metrics.table(rows))

    return make


def after_run(setup: Setup) -> None:
    """Use the model on other pages, download it and its metrics, or upload a checkpoint."""
    box = session()
    run = box.run
    if box.notice:
        st.success(box.notice)
        box.notice = None
    if run is not None and run.steps_done > 0:
        cols = st.columns(3)
        cols[0].button(
            "Use this model",
            key=train_state.TRAIN_USE,
            on_click=_use,
            type="primary",
            width="stretch",
            help="A frozen copy becomes the sidebar's model, for "
            "the Positional and Attention pages; training on does not change it.",
        )
        slug = box.name.lower().replace(" ", "-")
        cols[1].download_button(
            "Download checkpoint",
            _checkpoint_bytes(live.session().lock, run),
            file_name=f"{slug}-step{run.steps_done}.safetensors",
            mime="application/octet-stream",
            on_click="ignore",
            width="stretch",
        )
        cols[2].download_button(
            "Download metrics (CSV)",
            _metrics_csv(live.session().lock, run),
            file_name=f"{slug}-metrics.csv",
            mime="text/csv",
            on_click="ignore",
            width="stretch",
        )
    else:
        st.caption("Once a run has trained a step, you can use, download or continue it here.")
    upload = st.file_uploader(
        "Or upload a checkpoint (.safetensors) to continue or explore", key=train_state.TRAIN_CKPT
    )
    if upload is None:
        return
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    if refused := state.refused_upload(digest):  # refused before: not read again on each rerun
        st.error(refused)
        return
    try:
        ckpt = load_checkpoint(data, **budget.checkpoint_args())
    except CheckpointError as e:  # its words may quote the file: shown as typed, never Markdown
        state.remember_refused_upload(digest, f"Can't use this file: {markdown_literal(str(e))}")
        st.error(state.refused_upload(digest))
        return
    steps = int(ckpt.trainer_state["steps_done"]) if ckpt.trainer_state else 0
    planned = ckpt.train_config.max_iters if ckpt.train_config else LIVE_TRAIN.max_iters
    c = ckpt.config
    st.caption(
        f"{markdown_literal(file_label(upload.name))}: {c.n_layer} layers × {c.n_head} heads × {c.n_embd} wide, "
        f"{ckpt.tokenizer.kind} tokens, trained {steps:,} of {planned:,} steps."
    )
    train_state.offer_checkpoint_steps(max(planned, steps + 500))
    cols = st.columns([1, 1, 1])
    cols[0].number_input(
        "Steps in total when continuing", 1, 1_000_000, step=100, key=train_state.TRAIN_CKPT_STEPS
    )
    cols[1].button(
        "Continue training it",
        key=train_state.TRAIN_CONTINUE,
        on_click=_continue,
        args=(data, file_label(upload.name), setup),
        disabled=box.running or setup.text is None,
        width="stretch",
        help="On the corpus chosen above; Resume starts it.",
    )
    cols[2].button(
        "Explore it on the other pages",
        key=train_state.TRAIN_EXPLORE,
        on_click=_explore,
        args=(data, file_label(upload.name)),
        width="stretch",
    )


def _continue(data: bytes, filename: str, setup: Setup) -> None:
    box = session()
    total = train_state.checkpoint_steps()
    try:
        ckpt = load_checkpoint(data, **budget.checkpoint_args())
        done = int(ckpt.trainer_state["steps_done"]) if ckpt.trainer_state else 0
        planned = ckpt.train_config.max_iters if ckpt.train_config else None
        run = LiveRun.from_checkpoint(
            data,
            setup.text,
            corpus_key=setup.corpus_key,
            max_iters=total if total != planned and total > done else None,
        )
    except (CheckpointError, RunError) as e:
        box.message = f"Can't use {filename}: {markdown_literal(str(e))}"
        return
    reset()
    box.started += 1
    box.run, box.name = run, f"Live run {box.started} (from {filename})"
    box.notice = f"Loaded {filename} at step {run.steps_done:,}: press Resume to train on."


def _explore(data: bytes, filename: str) -> None:
    box = session()
    try:
        ckpt = load_checkpoint(data, **budget.checkpoint_args())
    except CheckpointError as e:
        box.message = f"Can't use {filename}: {markdown_literal(str(e))}"
        return
    model = ckpt.model.eval().requires_grad_(False)
    name = f"Uploaded: {filename}"
    dropped = state.add_session_model(
        name, LabModel(name, model, ckpt.tokenizer, metrics.saved_rows(ckpt.metrics))
    )
    box.notice = (
        f"**{markdown_literal(name)}** is now the model every page shows (pick another in the "
        "sidebar)." + markdown_literal(state.dropped_sentence(dropped))
    )

"""The compare page's live comparison: what to train, the Start / Stop / Reset row, and a
fragment that trains a slice per run and draws the results beside the runs added from the
Training page. The training loop is lab/live.py's (shared with the Training page).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from lab import cache, charts, live, state
from lab.compare import state as cmp_state
from lab.compare.entries import (
    LIVE_PRESETS,
    Entry,
    HeldFixed,
    differences,
    imported_entry,
    live_entries,
    record_setup,
)
from lab.compare.results import show_results
from lab.engine.comparison import LiveComparison
from lab.engine.models import encode_text
from minigpt.analysis.extrapolation import extrapolation_lengths
from minigpt.config import POS_EMBS

CHUNK_SECONDS = 0.4  # training per fragment run, shared out among the runs (as on Training)
TICK_SECONDS = 1.0  # while training, the fragment also reruns on this timer (see `yours`)
IMPORTED_EVAL_TOKENS = 8_192  # held-out tokens a training-page run is measured on


@dataclass(eq=False)
class Live(live.LiveBox):
    """The compare page's box: this session's live comparison and what it is compared with."""

    comparison: LiveComparison | None = None
    setup: HeldFixed | None = None
    key: str = ""  # new for every comparison: keys its models in the sample cache


def live_box() -> Live:
    return cmp_state.compare_live(Live)


def _start() -> None:
    box = live_box()
    box.message = None
    if busy := state.busy_training("Compare", box):
        box.message = busy
        return
    if box.comparison is None:
        chosen, preset, n_seeds = cmp_state.chosen_run()
        encodings = tuple(chosen)
        if not encodings:
            box.message = "choose at least one encoding (two or more to compare)"
            return
        spec = dataclasses.replace(
            LIVE_PRESETS[preset],
            encodings=encodings,
            seeds=tuple(range(n_seeds)),
        )
        text = cache.default_corpus()
        if problems := spec.problems(text):  # asked before any tokenizer or model is built
            box.message = " ".join(problems)
            return
        val_fraction = spec.train.val_fraction
        tokenizer, data = cache.run_inputs("shakespeare", "char", None, val_fraction, text)
        box.comparison = LiveComparison(spec, text, tokenizer, data)
        box.setup = HeldFixed(
            spec.model.replace(vocab_size=tokenizer.vocab_size),
            spec.train,
            tokenizer.kind,
            "shakespeare",
        )
        box.key = uuid.uuid4().hex
    box.running = not box.comparison.done


def _reset() -> None:
    box = live_box()
    live.stop(box)
    box.comparison, box.setup, box.message, box.waiting = None, None, None, 0


def live_controls(imported_names: list[str]) -> None:
    """What to train (encodings, preset, seeds), which finished runs to add, and the buttons."""
    box = live_box()
    live.release_if_idle(box)
    comp = box.comparison
    busy = comp is not None
    left, middle, right = st.columns([3, 3, 1])
    left.multiselect(
        "Encodings",
        list(POS_EMBS),
        key=cmp_state.CMP_ENCODINGS,
        disabled=busy,
        help="Each is trained from the same start on the same batches.",
    )
    middle.selectbox("Preset", list(LIVE_PRESETS), key=cmp_state.CMP_PRESET, disabled=busy)
    right.selectbox(
        "Seeds",
        [1, 2, 3],
        key=cmp_state.CMP_SEEDS,
        disabled=busy,
        help="More seeds show how much of a difference is luck; each costs a run.",
    )
    left, right = st.columns([3, 1])
    left.multiselect(
        "Add runs finished on the Training page",
        imported_names,
        key=cmp_state.CMP_IMPORTED,
        help="Shown with yours. A run set up differently in more than its encoding is flagged.",
        placeholder="Choose runs" if imported_names else "No finished runs yet in this session",
        disabled=not imported_names,
    )
    right.text_area(
        "Prompt for the samples",
        key=cmp_state.CMP_PROMPT,
        height=68,
        help="Every model continues it with the sidebar's sampling settings.",
    )
    note = live.buttons(
        box,
        (cmp_state.CMP_START, cmp_state.CMP_STOP, cmp_state.CMP_RESET),
        _start,
        _reset,
        has_work=comp is not None,
        can_start=comp is None or not comp.done,
        reset_help="Forget this comparison and set up another.",
    )
    if comp is None:
        chosen, preset, n_seeds = cmp_state.chosen_run()
        spec = LIVE_PRESETS[preset]
        n = len(chosen) * n_seeds
        note.caption(f"{n} runs of {spec.train.max_iters} steps each, trained in turn.")
    if box.message:
        st.error(f"Can't start: {box.message}")


def _advance(box: Live) -> bool:
    """Train the comparison for a slice (shared out among its runs); True once it is over."""
    comp = box.comparison
    if comp is not None:
        comp.advance(CHUNK_SECONDS)
    return comp is None or comp.done


def _status(box: Live) -> None:
    comp = box.comparison
    total = comp.spec.train.max_iters
    if box.waiting:
        st.warning(f"Waiting for a free trainer: {box.waiting} other session(s) are training.")
    elif comp.done:
        st.success(f"Done: {len(comp.runs)} runs of {total} steps, measured on longer contexts.")
    elif comp.training_done:
        st.info(f"Measuring extrapolation: {len(comp.extrapolation)} of {len(comp.runs)} runs.")
    else:
        what = "Training" if box.running else "Stopped"
        st.info(f"{what}: step {comp.steps_done} of {total} for each of {len(comp.runs)} runs.")
    for (pos_emb, seed), why in comp.failures().items():
        st.error(f"{pos_emb} (seed {seed}) stopped early: {why}")
    st.progress(comp.steps_done / total)


def _imported(records: Sequence[Any], reference: HeldFixed | None) -> list[Entry]:
    """Entries for the chosen training-page runs, each flagged if set up differently."""
    entries = []
    for record in records:
        extrapolation = {}
        if record.model is not None and record.corpus_key == "shakespeare":
            extrapolation = cache.run_extrapolation(
                record.model,
                record.train_config.val_fraction,
                tuple(extrapolation_lengths(record.config.block_size)),
                IMPORTED_EVAL_TOKENS,
            )
        elif record.corpus_key != "shakespeare":
            st.caption(
                f"{record.name} learned from other text: there is no held-out "
                "Shakespeare it could be measured on, so it has no extrapolation."
            )
        entries.append(imported_entry(record, extrapolation))
        diff = differences(reference, record_setup(record)) if reference is not None else []
        if diff:
            st.warning(
                f"**{charts.markdown_literal(record.name)}** differs in more than the "
                f"encoding: {'; '.join(diff)}. Its curves are another experiment."
            )
    return entries


def _sample(entry: Entry, prompt: str) -> str | None:
    """The model's continuation of the prompt with the sidebar's sampling settings."""
    if entry.model is None:
        return entry.sample
    tok = entry.model.tokenizer
    ids, _ = encode_text(tok, prompt)
    text = tok.decode(ids)
    return text + cache.continuation(entry.model, text, state.sampling())


def yours(records: Sequence[Any], reading: str, metric: str, reference: HeldFixed | None) -> None:
    """The live comparison and the added runs, in a fragment that trains a slice per run.

    Streamlit refuses st.rerun(scope="fragment") during a full script run (a click outside the
    fragment, such as Start or the reading switch). So while training, the fragment also ticks
    every TICK_SECONDS: a full run trains one slice and the tick restarts the chain of fragment
    reruns, each of which trains a slice and asks for the next one.
    """
    every = TICK_SECONDS if live_box().running else None
    st.fragment(_panel, run_every=every)(records, reading, metric, reference)


def _panel(records: Sequence[Any], reading: str, metric: str, reference: HeldFixed | None) -> None:
    box = live_box()
    if box.running:
        live.train_slice(box, lambda: _advance(box))
    entries: list[Entry] = []
    if box.comparison is not None:
        _status(box)
        entries += live_entries(box.comparison, box.key)
    entries += _imported(records, box.setup or reference)
    if entries:
        prompt = cmp_state.compare_prompt()
        note = "Every model continues the same prompt with the sidebar's sampling settings."
        show_results(entries, "yours", reading, metric, lambda e: _sample(e, prompt), note)
    else:
        st.info(
            "Choose encodings and press **Start**: the models train here in turn, from the "
            "same start on the same batches, and are then measured on longer contexts."
        )
    live.go_on(box)

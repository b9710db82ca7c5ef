"""The compare page's live comparison: what to train, the Start / Stop / Reset row, and a
fragment that draws the results beside the runs added from the Training page. The comparison
trains on this session's background thread (lab/live.py, shared with the Training page), so
it goes on while the student looks at other pages; the fragment polls while it trains.
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
from lab.engine.session import SessionTrainer
from lab.fragments import fragment
from minigpt.analysis.extrapolation import extrapolation_lengths
from minigpt.config import POS_EMBS

POLL_SECONDS = 1.5  # how often the results redraw while the comparison trains
IMPORTED_EVAL_TOKENS = 8_192  # held-out tokens a training-page run is measured on


@dataclass(eq=False)
class Live:
    """The compare page's box: this session's live comparison and what it is compared with."""

    comparison: LiveComparison | None = None
    setup: HeldFixed | None = None
    key: str = ""  # new for every comparison: keys its models in the sample cache
    message: str | None = None  # why the last Start was refused
    notice: str | None = None  # a one-off note (another job of this session was paused)

    trainer: SessionTrainer | None = None  # this session's thread, set on every access

    @property
    def running(self) -> bool:
        """Training (or queued for a trainer slot) on this session's thread now."""
        return self.trainer is not None and self.trainer.trains(self.comparison)

    @property
    def waiting(self) -> int:
        """Other sessions training while this one waits for a slot (0 when not queued)."""
        return self.trainer.trainer.waiting if self.running else 0


def live_box() -> Live:
    box = cmp_state.compare_live(Live)
    box.trainer = live.session()
    return box


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
    if box.comparison.done:
        return
    paused = live.start("Comparison", box.comparison)
    if paused:
        box.notice = f"{paused} is paused while the comparison trains (one at a time)."


def _reset() -> None:
    box = live_box()
    live.forget(box.comparison)
    box.comparison, box.setup, box.message = None, None, None


def live_controls(imported_names: list[str]) -> None:
    """What to train (encodings, preset, seeds), which finished runs to add, and the buttons."""
    box = live_box()
    comp = box.comparison
    busy = comp is not None
    st.multiselect(  # a row of its own: five chips side by side must all show on a projector
        "Encodings",
        list(POS_EMBS),
        key=cmp_state.CMP_ENCODINGS,
        disabled=busy,
        help="Each is trained from the same start on the same batches.",
    )
    middle, right = st.columns([4, 1])
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
        comp,
        (cmp_state.CMP_START, cmp_state.CMP_STOP, cmp_state.CMP_RESET),
        _start,
        _reset,
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
    if box.notice:
        st.info(box.notice)
        box.notice = None


def _status(box: Live) -> None:
    comp = box.comparison
    total = comp.spec.train.max_iters
    if (error := live.error_of(comp)) is not None:
        st.error(error)
    elif box.waiting:
        st.warning(f"Waiting for a free trainer: {box.waiting} other session(s) are training.")
    elif comp.done:
        st.success(f"Done: {len(comp.runs)} runs of {total} steps, measured on longer contexts.")
    elif comp.training_done:
        st.info(f"Measuring extrapolation: {len(comp.extrapolation)} of {len(comp.runs)} runs.")
    elif live.finishing(comp):
        st.info(f"Stopping after the current step: step {comp.steps_done} of {total}…")
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


def _sample(entry: Entry, prompt: str) -> tuple[str, int | None] | None:
    """The model's continuation of the prompt with the sidebar's sampling settings, and the
    sampling seed it used (None for a sample logged while a run trained)."""
    if entry.model is None:
        return (entry.sample, None) if entry.sample else None
    tok = entry.model.tokenizer
    ids, _ = encode_text(tok, prompt)
    text = tok.decode(ids)
    sampling = state.sampling()
    return text + cache.continuation(entry.model, text, sampling), sampling.seed


def yours(records: Sequence[Any], reading: str, metric: str, reference: HeldFixed | None) -> None:
    """The live comparison and the added runs, in a fragment that polls while it trains."""
    every = live.poll_every(live_box().comparison, POLL_SECONDS)
    fragment(_panel, run_every=every)(records, reading, metric, reference)


def _panel(records: Sequence[Any], reading: str, metric: str, reference: HeldFixed | None) -> None:
    box = live_box()
    entries: list[Entry] = []
    if box.comparison is not None:
        _status(box)
        entries += live_entries(box.comparison, box.key)
    entries += _imported(records, box.setup or reference)
    if entries:
        prompt = cmp_state.compare_prompt()
        note = "Every model continues the same prompt with the sidebar's sampling settings."
        show_results(
            entries,
            "yours",
            reading,
            metric,
            lambda e: _sample(e, prompt),
            note,
            live=box.comparison is not None and not box.comparison.training_done,
        )
    else:
        st.info(
            "Choose encodings and press **Start**: the models train here in turn, from the "
            "same start on the same batches, and are then measured on longer contexts."
        )
    live.redraw_when_ended()

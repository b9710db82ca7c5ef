"""The compare page's sections: the shipped comparison, the live one this session trains, and
the runs it adds from the Training page. The numbers behind them are lab/compare_data.py's,
the figures lab/charts/'s, the experiment minigpt/analysis/extrapolation.py's, and the training loop
lab/live.py's (shared with the Training page).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from lab import cache, charts, live, state
from lab.compare import state as cmp_state
from lab.compare.data import (
    LIVE_PRESETS,
    SMOOTH,
    Entry,
    Setup,
    baseline_params,
    curve_series,
    curves_csv,
    differences,
    extrapolation_csv,
    extrapolation_series,
    first_of_each,
    imported_entry,
    live_entries,
    ordering_lines,
    record_setup,
    shipped_entries,
    summary_table,
)
from lab.engine.comparison import LiveComparison
from lab.engine.models import encode_text
from minigpt.analysis.extrapolation import extrapolation_lengths
from minigpt.config import POS_EMBS

CHUNK_SECONDS = 0.4  # training per fragment run, shared out among the runs (as on Training)
TICK_SECONDS = 1.0  # while training, the fragment also reruns on this timer (see `yours`)
IMPORTED_EVAL_TOKENS = 8_192  # held-out tokens a training-page run is measured on
EXPECTED = (
    "learned ≈ sinusoidal at the training length; past it sinusoidal degrades within tens of "
    "tokens, RoPE holds a little longer, ALiBi stays flat, and no position information holds "
    "to 1.5-2× and then climbs (Press et al. 2022; Kazemnejad et al. 2023). A learned table "
    "cannot be run past its rows at all."
)


def show_results(
    entries: Sequence[Entry],
    key: str,
    reading: str,
    metric: str,
    sample_of: Callable[[Entry], str | None],
    sample_note: str = "",
) -> None:
    """Curves, the numbers table, extrapolation with its reading in words, samples, downloads."""
    perplexity = metric == "perplexity"
    st.plotly_chart(
        charts.compare_curves(
            curve_series(entries, perplexity),
            perplexity,
            title=f"Training curves ({metric}): lines train, dots validation",
        ),
        key=f"{key}.curves",
    )
    st.dataframe(
        summary_table(entries, baseline_params(entries)),
        hide_index=True,
        column_config={"parameters": st.column_config.NumberColumn(format="localized")},
    )
    st.caption(
        "A learned table adds context × width parameters; the other encodings add none. "
        "ms per step is the median over training, with every model of the comparison training "
        "in turn on the same machine, so a busy moment slows them all alike."
    )
    measured = extrapolation_series(entries, reading)
    if measured:
        n = min(s["train_length"] for s in measured.values())
        title = (
            "Held-out loss over non-overlapping windows of each length"
            if reading == "windows"
            else f"Held-out loss at each token position (mean of {SMOOTH} neighbours)"
        )
        st.plotly_chart(
            charts.extrapolation_chart(measured, reading, n, title), key=f"{key}.extrapolation"
        )
        st.markdown("\n".join(ordering_lines(entries, reading)))
    else:
        st.info("Extrapolation is measured once training is done.")
    samples = [(e, sample_of(e)) for e in first_of_each(entries)]
    samples = [(e, text) for e, text in samples if text]
    if samples:
        st.subheader("Samples")
        if sample_note:
            st.caption(sample_note)
        for row in range(0, len(samples), 3):
            for column, (e, text) in zip(st.columns(3), samples[row : row + 3], strict=False):
                seed = f" · seed {e.seed}" if e.seed is not None else ""
                column.caption(f"**{charts.markdown_literal(e.group)}**{seed}")
                column.code(text, language=None, wrap_lines=True)
    left, right = st.columns(2)
    left.download_button(
        "Curves as CSV",
        curves_csv(entries),
        f"{key}_curves.csv",
        "text/csv",
        key=f"{key}.curves_csv",
    )
    right.download_button(
        "Extrapolation as CSV",
        extrapolation_csv(entries),
        f"{key}_extrapolation.csv",
        "text/csv",
        key=f"{key}.extrapolation_csv",
    )
    st.caption(
        "Every chart saves as a PNG from the camera icon in its toolbar (top right, "
        "shown on hover)."
    )


def shipped_section(results: dict[str, Any] | None, reading: str, metric: str) -> None:
    """The precomputed comparison, shown at once."""
    if results is None:
        st.warning(
            "The precomputed comparison is missing: make it with `python -m "
            "minigpt.experiments --out assets/compare` (see the README)."
        )
        return
    m, t, smp = results["model"], results["train"], results["sampling"]
    scaled = (
        " (token embeddings scaled by √width, as in Vaswani et al.)"
        if m["scale_embeddings"]
        else ""
    )
    st.caption(
        f"{len(results['encodings'])} encodings × {len(results['seeds'])} seeds. Each model: "
        f"{m['n_layer']} layers × {m['n_head']} heads × {m['n_embd']} wide, context "
        f"{m['block_size']}{scaled}; {t['max_iters']} steps of {t['batch_size']} windows of "
        f"Shakespeare's characters, learning rate {t['learning_rate']:g}. Same data, same batch "
        "order, the same starting weights for every shared part. Made in "
        f"{results['seconds'] / 60:.0f} minutes on a busy 2-core machine by "
        f"`{results['command']}`."
    )
    st.info(f"**The literature expects:** {EXPECTED} **Below is what these models measure.**")
    prompt = results["prompt"].replace("\n", "⏎")
    note = (
        f"Each model continues “{prompt}” with sampling seed {smp['seed']} and temperature "
        f"{smp['temperature']:g}, the same for all."
    )
    show_results(shipped_entries(results), "shipped", reading, metric, lambda e: e.sample, note)


@dataclass(eq=False)
class Live(live.LiveBox):
    """The compare page's box: this session's live comparison and what it is compared with."""

    comparison: LiveComparison | None = None
    setup: Setup | None = None
    key: str = ""  # new for every comparison: keys its models in the sample cache


def live_box() -> Live:
    return cmp_state.compare_live(Live)


def _start() -> None:
    box = live_box()
    box.message = None
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
        val_fraction = spec.train.val_fraction
        tokenizer, data = cache.run_inputs("shakespeare", "char", None, val_fraction, text)
        box.comparison = LiveComparison(spec, text, tokenizer, data)
        box.setup = Setup(
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


def _imported(records: Sequence[Any], reference: Setup | None) -> list[Entry]:
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


def yours(records: Sequence[Any], reading: str, metric: str, reference: Setup | None) -> None:
    """The live comparison and the added runs, in a fragment that trains a slice per run.

    Streamlit refuses st.rerun(scope="fragment") during a full script run (a click outside the
    fragment, such as Start or the reading switch). So while training, the fragment also ticks
    every TICK_SECONDS: a full run trains one slice and the tick restarts the chain of fragment
    reruns, each of which trains a slice and asks for the next one.
    """
    every = TICK_SECONDS if live_box().running else None
    st.fragment(_panel, run_every=every)(records, reading, metric, reference)


def _panel(records: Sequence[Any], reading: str, metric: str, reference: Setup | None) -> None:
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

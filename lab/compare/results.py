"""The compare page's results view: curves, extrapolation, the ordering in words, the summary
table, samples and CSVs for a set of entries; and the shipped comparison drawn with it. The
numbers are lab/compare/series.py's, the figures lab/charts/'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from lab import charts
from lab.compare.entries import Entry, shipped_entries
from lab.compare.series import (
    SMOOTH,
    by_share,
    curve_series,
    curves_csv,
    extrapolation_csv,
    extrapolation_series,
    first_of_each,
    ordering_lines,
    x_span,
)
from lab.compare.table import UNDEFINED, baseline_params, summary_table
from lab.engine.views import visible

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
    sample_of: Callable[[Entry], tuple[str, int | None] | None],
    sample_note: str = "",
    live: bool = False,
) -> None:
    """Curves, the numbers table, extrapolation with its reading in words, samples, downloads,
    all in the chosen unit (loss or perplexity). sample_of(entry) gives a sample's text and
    the sampling seed that made it (None when unknown). live: the runs are still training, so
    the curves keep fixed axes while they grow."""
    perplexity = metric == "perplexity"
    share = by_share(entries)
    st.plotly_chart(
        charts.compare_curves(
            curve_series(entries, perplexity),
            perplexity,
            title=f"Training curves ({metric}): lines train, dots validation",
            x_range=x_span(entries),
            share=share,
            steady=live,
        ),
        key=f"{key}.curves",
    )
    if share:
        st.caption(
            "These runs differ a lot in length, so each is drawn against its own training, "
            "from start (0%) to its last planned step (100%)."
        )
    table, helps = summary_table(entries, baseline_params(entries), perplexity)
    st.table(table, hide_index=True)
    windows = (
        f" 1×, 2×, 4×: held-out {metric} over windows of that many times the training length."
        if any("×" in column for column in table.columns)
        else ""
    )
    st.caption(
        "A learned table adds context × width parameters (“vs none”: beyond a model with no "
        "position information); the other encodings add none. ms/step is the median over "
        "training, with every model of the comparison training in turn on the same machine, so "
        f"a busy moment slows them all alike.{windows} {UNDEFINED}",
        help="\n\n".join(f"**{column}**: {text}" for column, text in helps.items()),
    )
    measured = extrapolation_series(entries, reading, perplexity)
    if measured:
        n = min(s["train_length"] for s in measured.values())
        title = (
            f"Held-out {metric} over non-overlapping windows of each length"
            if reading == "windows"
            else f"Held-out {metric} at each token position (mean of {SMOOTH} neighbours)"
        )
        st.plotly_chart(
            charts.extrapolation_chart(measured, reading, n, title, perplexity=perplexity),
            key=f"{key}.extrapolation",
        )
        if perplexity:
            st.caption(
                "Perplexity is exp(loss): it explodes once a model breaks down, so its axis is "
                "on a log scale; a learned table has no value at all past its length."
            )
        st.markdown("\n".join(ordering_lines(entries, reading, perplexity)))
    else:
        st.info("Extrapolation is measured once training is done.")
    samples = [(e, sample_of(e)) for e in first_of_each(entries)]
    samples = [(e, made) for e, made in samples if made and made[0]]
    if samples:
        st.subheader("Samples")
        if sample_note:
            st.caption(sample_note)
        for row in range(0, len(samples), 3):
            for column, (e, (text, seed)) in zip(
                st.columns(3), samples[row : row + 3], strict=False
            ):
                column.caption(f"**{charts.markdown_literal(e.group)}** · {sample_origin(e, seed)}")
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


def sample_origin(entry: Entry, sampling_seed: int | None) -> str:
    """Which seeds made a sample card: the model's training seed and the sampling seed.

    Example: sample_origin(entry with seed 0, 1337) == "model seed 0, sampled with seed 1337"
    """
    model = f"model seed {entry.seed}, " if entry.seed is not None else ""
    sampled = (
        f"sampled with seed {sampling_seed}"
        if sampling_seed is not None
        else "logged while it trained"
    )
    return model + sampled


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
    prompt = visible(results["prompt"])
    note = (
        f"Each model continues “{prompt}” with sampling seed {smp['seed']} and temperature "
        f"{smp['temperature']:g}, the same for all."
    )
    show_results(
        shipped_entries(results),
        "shipped",
        reading,
        metric,
        lambda e: (e.sample, smp["seed"]) if e.sample else None,
        note,
    )

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
    baseline_params,
    curve_series,
    curves_csv,
    extrapolation_csv,
    extrapolation_series,
    first_of_each,
    ordering_lines,
    summary_table,
)
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
    prompt = visible(results["prompt"])
    note = (
        f"Each model continues “{prompt}” with sampling seed {smp['seed']} and temperature "
        f"{smp['temperature']:g}, the same for all."
    )
    show_results(shipped_entries(results), "shipped", reading, metric, lambda e: e.sample, note)

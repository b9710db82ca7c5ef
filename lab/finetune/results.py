"""What a fine-tune shows in numbers and words: the run's metrics, the same held-out questions
answered before and after, and every kept run side by side (full against LoRA, mask on and off).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from lab.engine.finetune_run import RunView, Summary
from minigpt.finetune.tasks import Item

SHOWN_ANSWERS = 12  # held-out questions in the before/after table


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}"


def run_metrics(v: RunView) -> None:
    """The run's headline numbers, each labelled with what it measures."""
    asked = v.asked
    on = f"exact match on the first {asked} held-out questions"
    cols = st.columns(6)
    cols[0].metric("Step", f"{v.steps:,} / {v.max_iters:,}")
    cols[1].metric("Held-out accuracy", _pct(v.accuracy), help=f"The latest {on}.")
    cols[2].metric("Untuned model", _pct(v.untuned), help=f"The base model's {on}.")
    cols[3].metric("Majority answer", _pct(v.majority), help=f"Always the commonest answer: {on}.")
    sps = v.seconds_per_step
    cols[4].metric(
        "Time per step",
        "—" if sps is None else f"{sps * 1000:,.0f} ms",
        help="Training steps only (evaluations not counted), on this shared server.",
    )
    cols[5].metric(
        "Training memory",
        f"{v.training_mb:.1f} MB",
        help="What training adds beside the model: one gradient per trainable weight and "
        "Adam's two running averages of them.",
    )
    st.progress(min(1.0, v.steps / v.max_iters))


def answers_rows(
    items: Sequence[Item], before: Sequence[str], after: Sequence[str]
) -> list[dict[str, str]]:
    """One row per held-out question: the input, the right answer, and both models' answers.

    Example: answers_rows([item], ["x"], [item.answer])[0]["after ✓"] == "✓"
    """
    rows = []
    for item, b, a in zip(items, before, after, strict=True):
        rows.append(
            {
                "question": f"{item.instruction} {item.input}".replace("\n", " ⏎ "),
                "right answer": item.answer,
                "before": b.strip(),
                "after": a.strip(),
                "after ✓": "✓" if a.strip() == item.answer else "",
            }
        )
    return rows


def answers_table(
    items: Sequence[Item], before: list[str] | None, after: list[str] | None, step: int
) -> None:
    """The same held-out questions answered by the untuned model and by the latest evaluation."""
    if before is None or after is None:
        st.caption("The untuned model is answering the held-out questions…")
        return
    n = min(SHOWN_ANSWERS, len(items))
    st.markdown(
        f"**Before and after**: the first {n} held-out questions, answered greedily by the "
        f"untuned model and by the model at step {step:,}."
    )
    st.dataframe(
        pd.DataFrame(answers_rows(items[:n], before[:n], after[:n])),
        hide_index=True,
        width="stretch",
    )


def comparison_rows(summaries: Sequence[Summary]) -> list[dict[str, Any]]:
    """One row per kept run, in the order they were kept."""
    return [
        {
            "run": s.name,
            "task": s.task,
            "method": s.method,
            "mask": "answer only" if s.mask_instruction else "off (every token)",
            "steps": s.steps,
            "accuracy": s.accuracy,
            "untuned": s.untuned,
            "majority": s.majority,
            "questions": s.asked,
            "ms per step": None if s.seconds_per_step is None else s.seconds_per_step * 1000,
            "training MB": s.training_mb,
            "trainable": s.trainable,
            "share trained": s.trainable / s.total,
        }
        for s in summaries
    ]


def comparison(summaries: Sequence[Summary]) -> None:
    """Every run this session stopped or finished, side by side."""
    if not summaries:
        st.caption(
            "Each run you stop or finish is kept here: try LoRA, then Full, on the same task "
            "and steps, or the same run with the mask off."
        )
        return
    st.dataframe(
        pd.DataFrame(comparison_rows(summaries)),
        hide_index=True,
        width="stretch",
        column_config={
            "accuracy": st.column_config.NumberColumn(format="percent"),
            "untuned": st.column_config.NumberColumn(format="percent"),
            "majority": st.column_config.NumberColumn(format="percent"),
            "ms per step": st.column_config.NumberColumn(format="%.0f"),
            "training MB": st.column_config.NumberColumn(format="%.1f"),
            "trainable": st.column_config.NumberColumn(format="localized"),
            "share trained": st.column_config.NumberColumn(format="percent"),
        },
    )
    st.caption(
        "Accuracy, untuned and majority: exact match on the first *questions* held-out "
        "questions (the same ones for all three). Training MB: gradients and Adam's moments, "
        "which only the trainable weights need. Time per step on this shared server varies "
        "with the class's load."
    )

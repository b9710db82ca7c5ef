"""What a fine-tune shows in numbers and words: the run's metrics, the same held-out questions
answered before and after, and every kept run side by side (full against LoRA, mask on and off).
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from lab.charts.labels import markdown_literal
from lab.engine.finetune_run import RunView, Summary
from minigpt.finetune.tasks import Item

SHOWN_ANSWERS = 12  # held-out questions in the before/after table


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}"


def run_metrics(v: RunView) -> None:
    """The run's headline numbers, each labelled with what it measures."""
    asked = v.asked
    on = f"exact match on the first {asked} held-out questions"
    cols = st.columns(3)
    cols[0].metric("Step", f"{v.steps:,} / {v.max_iters:,}")
    sps = v.seconds_per_step
    cols[1].metric(
        "Time per step",
        "—" if sps is None else f"{sps * 1000:,.0f} ms",
        help="Training steps only (evaluations not counted), on this shared server.",
    )
    cols[2].metric(
        "Training memory",
        f"{v.training_mb:.1f} MB",
        help="What training adds beside the model: one gradient per trainable weight and "
        "Adam's two running averages of them.",
    )
    cols = st.columns(3)
    cols[0].metric("Held-out accuracy", _pct(v.accuracy), help=f"The latest {on}.")
    cols[1].metric("Untuned model", _pct(v.untuned), help=f"The base model's {on}.")
    cols[2].metric("Majority answer", _pct(v.majority), help=f"Always the commonest answer: {on}.")
    st.progress(min(1.0, v.steps / v.max_iters))


def markdown_table(rows: Sequence[dict[str, str]]) -> str:
    """Rows as a Markdown table, every cell escaped; unlike a grid its cells wrap, so nothing
    is cut off on a projector. Example: markdown_table([{"a": "*"}]) == "| a |\n| --- |\n| \\* |"
    """
    if not rows:
        return ""
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    lines += ["| " + " | ".join(markdown_literal(r[h]) or " " for h in head) + " |" for r in rows]
    return "\n".join(lines)


def answers_rows(
    items: Sequence[Item], before: Sequence[str], after: Sequence[str]
) -> list[dict[str, str]]:
    """One row per held-out question: the input, the right answer, and both models' answers.

    Example: answers_rows([item], ["x"], [item.answer])[0]["right after"] == "✓"
    """
    rows = []
    for item, b, a in zip(items, before, after, strict=True):
        rows.append(
            {
                "question": item.input.replace("\n", " / "),
                "right answer": item.answer,
                "before": b.strip(),
                "after": a.strip(),
                "right after": "✓" if a.strip() == item.answer else "",
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
        f'**Before and after**: the first {n} held-out questions ("{items[0].instruction}"), '
        f"answered greedily by the untuned model and by the model at step {step:,}."
    )
    st.markdown(markdown_table(answers_rows(items[:n], before[:n], after[:n])))


def comparison_rows(summaries: Sequence[Summary]) -> list[dict[str, str]]:
    """One row per kept run, in the order they were kept, its numbers written out."""
    return [
        {
            "run": s.name,
            "loss on": "answers" if s.mask_instruction else "every token",
            "steps": f"{s.steps:,}",
            "accuracy": f"{_pct(s.accuracy)} of {s.asked}",
            "untuned": _pct(s.untuned),
            "majority": _pct(s.majority),
            "ms / step": "—" if s.seconds_per_step is None else f"{s.seconds_per_step * 1000:,.0f}",
            "training MB": f"{s.training_mb:.1f}",
            "trainable": f"{s.trainable:,} ({s.trainable / s.total:.1%})",
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
    st.markdown(markdown_table(comparison_rows(summaries)))
    st.caption(
        'Accuracy "of N": exact match on the first N held-out questions; untuned and majority '
        "on the same ones. Training MB: gradients and Adam's moments, which only the trainable "
        "weights need. Time per step on this shared server varies with the class's load."
    )

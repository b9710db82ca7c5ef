"""The Fine-tune page's pictures: the loss mask token by token, the loss, and held-out accuracy
against its two baselines. Pure builders: plain lists in, HTML or plotly figures out."""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go

from lab.charts.common import PLAIN
from lab.engine.views import visible

COUNTED = "#b5473a"  # the theme's accent: tokens the loss counts
IGNORED = "#eeeeee"
_BOX = (
    "font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:0.95rem;line-height:2;"
    "white-space:pre-wrap;overflow-wrap:anywhere;padding:0.5rem 0.6rem;border:1px solid #e6e6e6;"
    "border-radius:0.4rem;background:#fff"
)
_TOKEN = "border-radius:3px;padding:1px 1px;margin-right:1px;background:{bg};color:{fg}"


def mask_html(view: Sequence[tuple[str, bool]]) -> str:
    """Every token as a box, filled where the loss counts it (a newline also breaks the line).

    Each box carries data-counts="1" or "0", so a test can read the drawing back.
    Example: mask_html([("A", False), ("B", True)]) has two spans, the second data-counts="1".
    """
    spans = []
    for token, counts in view:
        style = _TOKEN.format(bg=COUNTED if counts else IGNORED, fg="#fff" if counts else "#555")
        text = html.escape(visible(token))
        spans.append(f'<span data-counts="{int(counts)}" style="{style}">{text}</span>')
        if token.endswith("\n"):
            spans.append("<br>")
    return f'<div style="{_BOX}">{"".join(spans)}</div>'


def loss_figure(
    losses: Sequence[tuple[int, float]],
    answer_losses: Sequence[tuple[int, float]],
    mask_instruction: bool,
    max_steps: int,
) -> go.Figure:
    """Each step's training loss, and the held-out loss on answer tokens at each evaluation."""
    counted = "answers" if mask_instruction else "every token"
    fig = go.Figure()
    if losses:
        steps, values = zip(*losses, strict=True)
        fig.add_trace(
            go.Scatter(x=steps, y=values, name=f"training batch, on {counted}", mode="lines")
        )
    if answer_losses:
        steps, values = zip(*answer_losses, strict=True)
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=values,
                name="held-out, on answers",
                mode="lines+markers",
            )
        )
    fig.update_layout(
        title="Loss",
        xaxis=dict(title="step", range=[0, max_steps]),
        yaxis_title="loss (nats per token)",
        legend=dict(orientation="h", y=-0.25),
        height=330,
        **PLAIN,
    )
    return fig


def accuracy_figure(
    evals: Sequence[tuple[int, float]],
    majority: float,
    untuned: float | None,
    asked: int,
    max_steps: int,
) -> go.Figure:
    """Held-out exact match over steps, with the majority answer and the untuned model as
    flat lines: all three on the same first `asked` held-out questions."""
    fig = go.Figure()
    if evals:
        steps, values = zip(*evals, strict=True)
        fig.add_trace(go.Scatter(x=steps, y=values, name="fine-tuned", mode="lines+markers"))
    for value, name, dash in ((majority, "majority answer", "dash"), (untuned, "untuned", "dot")):
        if value is not None:
            fig.add_trace(
                go.Scatter(
                    x=[0, max_steps], y=[value, value], name=name, mode="lines", line_dash=dash
                )
            )
    fig.update_layout(
        title="Held-out exact match",
        xaxis=dict(title="step", range=[0, max_steps]),
        yaxis=dict(title=f"of the first {asked} questions", range=[0, 1.02], tickformat=".0%"),
        legend=dict(orientation="h", y=-0.25),
        height=330,
        **PLAIN,
    )
    return fig

"""Figures of an induction head forming during training: the in-context gap and every head's
scores over steps, with the step where the best induction score first passed 0.5 marked."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from lab.charts.common import PLAIN


def _mark(fig: go.Figure, formed: int | None) -> None:
    if formed is not None:
        fig.add_vline(
            x=formed,
            line_dash="dash",
            line_color="#d62728",
            annotation_text=f"induction ≥ 0.5 at step {formed:,}",
            annotation_position="top left",
        )


def copy_gap_chart(
    steps: Sequence[int],
    first_copy: Sequence[float],
    second_copy: Sequence[float],
    formed: int | None,
) -> go.Figure:
    """Loss on the first and the second copy of the same passages at each evaluation."""
    fig = go.Figure()
    for values, name, color in (
        (first_copy, "first copy", "#1f77b4"),
        (second_copy, "second copy", "#2ca02c"),
    ):
        fig.add_scatter(
            x=list(steps), y=list(values), name=name, mode="lines+markers", line_color=color
        )
    _mark(fig, formed)
    fig.update_layout(
        **PLAIN,
        height=300,
        title="Loss on a passage seen once vs twice",
        xaxis_title="step",
        yaxis_title="nats per token",
        legend=dict(orientation="h", y=-0.3),
    )
    return fig


def scores_over_steps(
    steps: Sequence[int], scores: np.ndarray, title: str, formed: int | None = None
) -> go.Figure:
    """One score of every head (rows) at every recorded step (columns): scores (S, L, H)."""
    S, L, H = scores.shape
    z = scores.reshape(S, L * H).T  # (L*H, S): a row per head, layer-major
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(steps),
            y=[f"layer {i // H} head {i % H}" for i in range(L * H)],
            zmin=0,
            zmax=1,
            colorscale="Blues",
            colorbar=dict(title="score", thickness=12),
            hovertemplate="step %{x}<br>%{y}<br>%{z:.2f}<extra></extra>",
        )
    )
    _mark(fig, formed)
    fig.update_layout(**PLAIN, height=60 + 22 * L * H, title=title, xaxis_title="step")
    fig.update_yaxes(autorange="reversed")
    return fig

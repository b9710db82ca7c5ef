"""Layout shared by every chart, and the loss curve the home page and the training page draw."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

# No named template: Streamlit's theme styles the charts anyway, and validating a template is
# paid per figure on every rerun (benchmarks/RESULTS.md, "Why the code is so").
PLAIN = dict(margin=dict(l=10, r=10, t=40, b=10))
# Train and validation losses in every chart of them: Streamlit's blue and red.
TRAIN_COLOR, VALIDATION_COLOR = "#1c83e1", "#ff4b4b"

# Charts a click redraws are built as plain dicts and handed to go.Figure once. Plotly's helpers
# (make_subplots, update_xaxes, add_trace with row and col, add_hline) validate property by
# property: 15-45 ms a figure against 2-6 ms for the same figure built whole, identical once
# serialised (benchmarks/RESULTS.md, "Why the code is so"). grid_cells and panel_title lay out
# panels as make_subplots does.
#
# Long numeric series go in as numpy arrays, not lists: plotly checks a list item by item and
# writes it out as JSON text, and an array in one piece, as base64. Home's 4,000-step loss curve
# took 20.7 ms to build and serialise from lists, 2.8 ms from arrays (benchmarks/RESULTS.md,
# "Lesson clients that speak the browser's protocol").


def grid_cells(rows: int, cols: int, h_gap: float, v_gap: float) -> list[tuple[list, list]]:
    """The (x, y) domains of a rows x cols grid of panels, row by row from the top, in paper
    coordinates with the given gaps between panels (what make_subplots lays out).

    Example: grid_cells(1, 2, 0.0, 0.0) == [([0.0, 0.5], [0.0, 1.0]), ([0.5, 1.0], [0.0, 1.0])].
    """
    width = (1 - h_gap * (cols - 1)) / cols
    height = (1 - v_gap * (rows - 1)) / rows
    cells = []
    for r in range(rows):
        top = 1 - r * (height + v_gap)
        for c in range(cols):
            left = c * (width + h_gap)
            cells.append(([left, left + width], [top - height, top]))
    return cells


def axis_suffix(panel: int) -> str:
    """What plotly appends to the axis names of the panel-th panel, counted from 0: its axes
    are x and y, then x2 and y2, ... (layout keys xaxis, xaxis2, ...).

    Example: [axis_suffix(i) for i in range(3)] == ["", "2", "3"].
    """
    return "" if panel == 0 else str(panel + 1)


def panel_title(text: str, x_domain: Sequence[float], y_domain: Sequence[float]) -> dict:
    """A panel's title as make_subplots writes it: centred just above the panel, in paper
    coordinates."""
    return dict(
        text=text,
        x=sum(x_domain) / 2,
        y=y_domain[1],
        xref="paper",
        yref="paper",
        xanchor="center",
        yanchor="bottom",
        showarrow=False,
        font=dict(size=16),
    )


def loss_curve(
    metrics: Sequence[dict[str, Any]], title: str = "Loss", perplexity: bool = False
) -> go.Figure:
    """Train (every logged step) and validation (every evaluation) loss, or perplexity, over steps."""
    data = []
    for key, name, mode, colour in (
        ("train_loss", "train", "lines", TRAIN_COLOR),
        ("val_loss", "validation", "lines+markers", VALIDATION_COLOR),
    ):
        logged = [m for m in metrics if m.get(key) is not None]
        if logged:
            # Arrays, not lists (see above): this curve has one point per logged step.
            steps = np.array([m["step"] for m in logged], dtype=np.int64)
            values = np.array([m[key] for m in logged], dtype=np.float64)
            if perplexity:
                values = np.exp(np.minimum(values, 50.0))
            style = dict(line=dict(color=colour), marker=dict(color=colour))
            data.append(dict(type="scatter", x=steps, y=values, name=name, mode=mode, **style))
    layout = dict(
        PLAIN,
        title=dict(text=title),
        # Inside the plot, top right, where a falling loss leaves room: beside it, the legend
        # took a third of a half-width column on a 1024-wide projector and turned the step
        # labels on end.
        legend=dict(x=0.99, xanchor="right", y=0.99, yanchor="top", bgcolor="rgba(0,0,0,0)"),
        xaxis=dict(title=dict(text="step")),
        yaxis=dict(title=dict(text="perplexity" if perplexity else "loss (nats per token)")),
    )
    return go.Figure(data=data, layout=layout)

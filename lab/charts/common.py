"""Layout shared by every chart, and the loss curve the home page and the training page draw."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), template="plotly_white")
# No named template elsewhere: Streamlit's theme styles the charts anyway, and validating a
# template is paid per figure on every rerun (benchmarks/RESULTS.md, "Why the code is so").
PLAIN = dict(margin=dict(l=10, r=10, t=40, b=10))


def loss_curve(
    metrics: Sequence[dict[str, Any]], title: str = "Loss", perplexity: bool = False
) -> go.Figure:
    """Train (every logged step) and validation (every evaluation) loss, or perplexity, over steps."""
    fig = go.Figure()
    value = (lambda x: math.exp(min(x, 50))) if perplexity else (lambda x: x)
    for key, name, mode in (
        ("train_loss", "train", "lines"),
        ("val_loss", "validation", "lines+markers"),
    ):
        points = [(m["step"], value(m[key])) for m in metrics if m.get(key) is not None]
        if points:
            steps, values = zip(*points, strict=True)
            fig.add_trace(go.Scatter(x=steps, y=values, name=name, mode=mode))
    fig.update_layout(
        title=title,
        xaxis_title="step",
        yaxis_title="perplexity" if perplexity else "loss (nats per token)",
        **LAYOUT,
    )
    return fig

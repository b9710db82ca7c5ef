"""The attention page's figures, and how a token is written on a chart, in Markdown or as a pill."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.charts.common import PLAIN
from lab.charts.labels import plotly_text, token_names

# Attention weights are probabilities: one fixed 0..1 scale, with most of the colour spent on
# small weights, so a diffuse head still shows where it leans and every chart reads the same.
ATTENTION_SCALE = [
    [0.0, "#ffffff"],
    [0.02, "#eef4fb"],
    [0.1, "#c6dbef"],
    [0.25, "#6baed6"],
    [0.5, "#2171b5"],
    [1.0, "#08306b"],
]
ATTENTION_COLORAXIS = dict(
    colorscale=ATTENTION_SCALE, cmin=0.0, cmax=1.0, colorbar=dict(thickness=12, title="weight")
)


def _token_axis(labels: Sequence[str]) -> dict[str, Any]:
    """Category axis showing each token's text (all of them), the position only on hover."""
    long = max((len(label) for label in labels), default=0) > 2
    return dict(
        type="category",
        tickmode="array",
        tickvals=token_names(labels),
        ticktext=[plotly_text(label) for label in labels],
        tickangle=-90 if long else 0,
        tickfont=dict(size=10 if len(labels) <= 48 else 9, family="monospace"),
        showgrid=False,  # grid lines would stripe the blank (future) half
    )


def _masked(weights: np.ndarray) -> np.ndarray:
    """Weights with the future (above the diagonal) as NaN: blank, unlike a weight of 0."""
    z = weights.astype(float).copy()
    z[np.triu_indices(z.shape[-1], 1)] = np.nan
    return z


def attention_heatmap(weights: np.ndarray, labels: Sequence[str], title: str) -> go.Figure:
    """One head's (query, key) attention with tokens on both axes and the weight on hover."""
    names = token_names(labels)
    height = min(max(160 + 9 * len(labels), 360), 760)  # about square cells, every label legible
    fig = go.Figure(
        go.Heatmap(
            z=_masked(weights),
            x=names,
            y=names,
            coloraxis="coloraxis",
            hoverongaps=False,
            hovertemplate="%{y} looks at %{x}<br>weight %{z:.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(title="key: the token looked at", **_token_axis(labels))
    fig.update_yaxes(title="query: the token looking", autorange="reversed", **_token_axis(labels))
    fig.update_layout(title=title, height=height, coloraxis=ATTENTION_COLORAXIS, **PLAIN)
    return fig


def attention_grid(
    maps: np.ndarray, labels: Sequence[str], layer: int, selected: int | None = None, cols: int = 4
) -> go.Figure:
    """Every head of one layer (n_head, T, T) as small multiples sharing one colour scale."""
    n_head = maps.shape[0]
    cols = min(cols, n_head)
    rows = math.ceil(n_head / cols)
    titles = [
        f"<b>head {h} (selected)</b>" if h == selected else f"head {h}" for h in range(n_head)
    ]
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=titles,
        horizontal_spacing=0.03,
        vertical_spacing=0.08 / rows,
    )
    names = token_names(labels)
    for h in range(n_head):
        fig.add_trace(
            go.Heatmap(
                z=_masked(maps[h]),
                x=names,
                y=names,
                coloraxis="coloraxis",
                hoverongaps=False,
                hovertemplate=(
                    f"layer {layer} head {h}<br>%{{y}} looks at %{{x}}<br>weight %{{z:.4f}}<extra></extra>"
                ),
            ),
            row=h // cols + 1,
            col=h % cols + 1,
        )
    fig.update_xaxes(type="category", showticklabels=False, showgrid=False)
    fig.update_yaxes(type="category", showticklabels=False, showgrid=False, autorange="reversed")
    # No figure title: the page's header names the layer, and a title would sit on the panels'.
    # No colour bar either: the scale is the fixed one every attention chart uses.
    fig.update_layout(
        height=40 + rows * 300, coloraxis=dict(ATTENTION_COLORAXIS, showscale=False), **PLAIN
    )
    return fig


def token_focus_heatmap(focus: np.ndarray, labels: Sequence[str], n_head: int, t: int) -> go.Figure:
    """Where token t looks (rows: every layer's every head; columns: tokens 0..t)."""
    names = token_names(labels[: t + 1])
    heads = [f"layer {i // n_head} head {i % n_head}" for i in range(focus.shape[0])]
    fig = go.Figure(
        go.Heatmap(
            z=focus,
            x=names,
            y=heads,
            coloraxis="coloraxis",
            hovertemplate="%{y}: token "
            + f"{t} looks at "
            + "%{x}<br>weight %{z:.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(title="the tokens it can see", **_token_axis(labels[: t + 1]))
    fig.update_yaxes(autorange="reversed", tickfont=dict(size=10), type="category")
    fig.update_layout(
        title=f"Where token {t} “{plotly_text(labels[t])}” looks, in every head",
        height=120 + 22 * focus.shape[0],
        coloraxis=ATTENTION_COLORAXIS,
        **PLAIN,
    )
    return fig

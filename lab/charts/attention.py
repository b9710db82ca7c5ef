"""The attention page's figures, and how a token is written on a chart, in Markdown or as a pill."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from lab.charts.common import PLAIN, axis_suffix, grid_cells, panel_title
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


def _token_axis(labels: Sequence[str], title: str | None = None) -> dict[str, Any]:
    """Category axis showing each token's text (all of them), the position only on hover."""
    long = max((len(label) for label in labels), default=0) > 2
    axis = dict(
        type="category",
        tickmode="array",
        tickvals=token_names(labels),
        ticktext=[plotly_text(label) for label in labels],
        tickangle=-90 if long else 0,
        tickfont=dict(size=10 if len(labels) <= 48 else 9, family="monospace"),
        showgrid=False,  # grid lines would stripe the blank (future) half
    )
    return axis if title is None else dict(axis, title=dict(text=title))


def _masked(weights: np.ndarray) -> np.ndarray:
    """Weights with the future (above the diagonal) as NaN: blank, unlike a weight of 0."""
    z = weights.astype(float).copy()
    z[np.triu_indices(z.shape[-1], 1)] = np.nan
    return z


# The figures below are plain dicts handed to go.Figure once: they redraw on every click of a
# head, and plotly's helpers validate property by property (see lab/charts/common.py).


def attention_heatmap(weights: np.ndarray, labels: Sequence[str], title: str) -> go.Figure:
    """One head's (query, key) attention with tokens on both axes and the weight on hover."""
    names = token_names(labels)
    height = min(max(160 + 9 * len(labels), 360), 760)  # about square cells, every label legible
    heatmap = dict(
        type="heatmap",
        z=_masked(weights),
        x=names,
        y=names,
        coloraxis="coloraxis",
        hoverongaps=False,
        hovertemplate="%{y} looks at %{x}<br>weight %{z:.4f}<extra></extra>",
    )
    layout = dict(
        PLAIN,
        title=dict(text=title),
        height=height,
        coloraxis=ATTENTION_COLORAXIS,
        xaxis=_token_axis(labels, "key: the token looked at"),
        yaxis=dict(_token_axis(labels, "query: the token looking"), autorange="reversed"),
    )
    return go.Figure(data=[heatmap], layout=layout)


def attention_grid(
    maps: np.ndarray, labels: Sequence[str], layer: int, selected: int | None = None, cols: int = 4
) -> go.Figure:
    """Every head of one layer (n_head, T, T) as small multiples sharing one colour scale."""
    n_head = maps.shape[0]
    cols = min(cols, n_head)
    rows = math.ceil(n_head / cols)
    names = token_names(labels)
    data, titles = [], []
    layout: dict[str, Any] = dict(
        PLAIN,
        height=40 + rows * 300,
        # No colour bar: the scale is the fixed one every attention chart uses.
        coloraxis=dict(ATTENTION_COLORAXIS, showscale=False),
    )
    # No figure title: the page's header names the layer, and a title would sit on the panels'.
    cells = grid_cells(rows, cols, h_gap=0.03, v_gap=0.08 / rows)
    for h, (x_domain, y_domain) in enumerate(cells[:n_head]):
        suffix = axis_suffix(h)
        data.append(
            dict(
                type="heatmap",
                z=_masked(maps[h]),
                x=names,
                y=names,
                xaxis=f"x{suffix}",
                yaxis=f"y{suffix}",
                coloraxis="coloraxis",
                hoverongaps=False,
                hovertemplate=(
                    f"layer {layer} head {h}<br>%{{y}} looks at %{{x}}<br>weight %{{z:.4f}}<extra></extra>"
                ),
            )
        )
        axis = dict(type="category", showticklabels=False, showgrid=False)
        layout[f"xaxis{suffix}"] = dict(axis, domain=x_domain, anchor=f"y{suffix}")
        layout[f"yaxis{suffix}"] = dict(
            axis, domain=y_domain, anchor=f"x{suffix}", autorange="reversed"
        )
        title = f"<b>head {h} (selected)</b>" if h == selected else f"head {h}"
        titles.append(panel_title(title, x_domain, y_domain))
    layout["annotations"] = titles
    return go.Figure(data=data, layout=layout)


def token_focus_heatmap(focus: np.ndarray, labels: Sequence[str], n_head: int, t: int) -> go.Figure:
    """Where token t looks (rows: every layer's every head; columns: tokens 0..t)."""
    names = token_names(labels[: t + 1])
    heads = [f"layer {i // n_head} head {i % n_head}" for i in range(focus.shape[0])]
    heatmap = dict(
        type="heatmap",
        z=focus,
        x=names,
        y=heads,
        coloraxis="coloraxis",
        hovertemplate="%{y}: token " + f"{t} looks at " + "%{x}<br>weight %{z:.4f}<extra></extra>",
    )
    layout = dict(
        PLAIN,
        title=dict(text=f"Where token {t} “{plotly_text(labels[t])}” looks, in every head"),
        height=120 + 22 * focus.shape[0],
        coloraxis=ATTENTION_COLORAXIS,
        xaxis=_token_axis(labels[: t + 1], "the tokens it can see"),
        yaxis=dict(autorange="reversed", tickfont=dict(size=10), type="category"),
    )
    return go.Figure(data=[heatmap], layout=layout)

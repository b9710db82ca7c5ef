"""The compare page's figures: overlaid training curves and extrapolation, seeds as bands."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go

from lab.charts.common import PLAIN
from lab.charts.labels import plotly_text

# One colour per encoding on every compare chart; a run added from the training page keeps its
# encoding's colour and is drawn dashed.
ENCODING_COLORS = {
    "learned": "#1f77b4",
    "sinusoidal": "#ff7f0e",
    "rope": "#2ca02c",
    "alibi": "#d62728",
    "none": "#7f7f7f",
}


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _seeds_range(n: int) -> str:
    """The end of a hover text: the seeds' range (customdata) when there are several."""
    more = "<br>seeds from %{customdata[0]:.3f} to %{customdata[1]:.3f}" if n > 1 else ""
    return more + "<extra></extra>"


def _band(fig: go.Figure, x, low, high, color: str, group: str) -> None:
    """The spread over seeds (lowest to highest) as a shaded band; undefined points left out."""
    pts = [(xi, lo, hi) for xi, lo, hi in zip(x, low, high, strict=True) if lo is not None]
    if not pts:
        return
    xs, los, his = zip(*pts, strict=True)
    fig.add_trace(
        go.Scatter(
            x=[*xs, *xs[::-1]],
            y=[*his, *los[::-1]],
            fill="toself",
            mode="none",
            fillcolor=_rgba(color, 0.15),
            hoverinfo="skip",
            showlegend=False,
            legendgroup=group,
        )
    )


def compare_curves(
    series: dict[str, dict[str, Any]],
    perplexity: bool = False,
    title: str = "Training curves",
    height: int = 420,
    x_range: tuple[float, float] | None = None,
    share: bool = False,
    steady: bool = False,
) -> go.Figure:
    """Training (lines) and validation (dotted, markers) curves, one colour per run group.

    series[name] = {"color", "dash", "n" (seeds), "steps", "train": (mean, low, high),
    "val_steps", "val": (mean, low, high)}; with more than one seed the band is their spread.
    share: the steps are percent of each run's training. x_range fixes the x-axis (the planned
    length); steady also fixes the y-axis from 0 (loss) or 1 (perplexity) to the highest value,
    and keeps every trace in the legend from the start, so a chart redrawn while the runs train
    neither rescales nor reflows its legend.
    """
    fig = go.Figure()
    unit = "perplexity" if perplexity else "loss"
    where = "%{x:.0f}% of training" if share else "step %{x}"
    highest = 0.0
    # Drawn last to first, so the first (learned) lies on top where curves coincide; the legend
    # keeps the given order and names each run once (line style tells train from validation).
    for rank, (name, s) in reversed(list(enumerate(series.items()))):
        color, label = s["color"], plotly_text(name)
        for part, steps, (mean, low, high), mode, dash in (
            ("train", s["steps"], s["train"], "lines", s.get("dash", "solid")),
            ("validation", s["val_steps"], s["val"], "lines+markers", "dot"),
        ):
            if not steps and not (steady and part == "train"):
                continue
            highest = max([highest, *(v for v in high if v is not None)])
            if s["n"] > 1:
                _band(fig, steps, low, high, color, name)
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=mean,
                    mode=mode if len(steps) > 2 else "lines+markers",
                    name=label if part == "train" else f"{label} (validation)",
                    legendgroup=name,
                    showlegend=part == "train",
                    legendrank=rank,
                    line=dict(color=color, dash=dash, width=2 if part == "train" else 1.5),
                    customdata=np.array([low, high], dtype=float).T,
                    hovertemplate=f"{label} {part}<br>{where}: {unit} %{{y:.3f}}"
                    + _seeds_range(s["n"]),
                )
            )
    fig.update_xaxes(title="% of each run's training" if share else "step")
    if x_range is not None:
        fig.update_xaxes(range=list(x_range))
    fig.update_yaxes(
        title="perplexity (log scale)" if perplexity else "loss (nats per token)",
        type="log" if perplexity else "linear",
    )
    if steady and highest > 0:
        top = highest * 1.05 if not perplexity else highest * 1.2
        fig.update_yaxes(range=[0, math.log10(top)] if perplexity else [0, top])
    fig.update_layout(
        title=title,
        height=height,
        legend=dict(orientation="h", y=-0.2),
        uirevision="keep",  # a redraw keeps the reader's zoom
        **PLAIN,
    )
    return fig


def extrapolation_chart(
    series: dict[str, dict[str, Any]],
    mode: str,
    train_length: int,
    title: str,
    height: int = 460,
    perplexity: bool = False,
) -> go.Figure:
    """Held-out loss (or perplexity, on a log axis: it explodes once a model breaks down)
    against context length ("windows") or token position ("position").

    series[name] = {"color", "dash", "n", "x", "mean", "low", "high", "limit"}; None marks a
    point that is not defined (a learned table past its rows): the line stops there, and the
    region is shaded and labelled instead of being drawn with a made-up number.
    """
    fig = go.Figure()
    xmax = max((max(s["x"]) for s in series.values() if s["x"]), default=train_length)
    labelled = 0  # undefined regions labelled so far: their labels stack downwards
    unit = "perplexity" if perplexity else "loss"
    for rank, (name, s) in reversed(list(enumerate(series.items()))):  # the first on top
        color, label = s["color"], plotly_text(name)
        if s["n"] > 1:
            _band(fig, s["x"], s["low"], s["high"], color, name)
        mean = [np.nan if v is None else v for v in s["mean"]]
        low = [np.nan if v is None else v for v in s["low"]]
        high = [np.nan if v is None else v for v in s["high"]]
        where = "context %{x} tokens" if mode == "windows" else "position %{x}"
        fig.add_trace(
            go.Scatter(
                x=s["x"],
                y=mean,
                mode="lines+markers" if mode == "windows" else "lines",
                name=label,
                legendgroup=name,
                legendrank=rank,
                connectgaps=False,
                line=dict(color=color, dash=s.get("dash", "solid")),
                customdata=np.array([low, high], dtype=float).T,
                hovertemplate=f"{label}<br>{where}: {unit} %{{y:.3f}}" + _seeds_range(s["n"]),
            )
        )
        limit = s.get("limit")
        if limit is not None and limit < xmax:
            edge = limit + 0.5 if mode == "windows" else limit - 0.5
            fig.add_vrect(x0=edge, x1=xmax, fillcolor=_rgba(color, 0.06), line_width=0)
            fig.add_annotation(
                x=edge,
                xanchor="left",
                y=1 - 0.07 * labelled,
                yref="paper",
                yanchor="top",
                showarrow=False,
                text=f"{label}: no positions past {limit} (not defined)",
                font=dict(color=color),
                bgcolor="rgba(255,255,255,0.8)",
            )
            labelled += 1
    trained = train_length if mode == "windows" else train_length - 0.5
    fig.add_vline(
        x=trained,
        line_dash="dash",
        line_color="#444",
        annotation_text=f"training length {train_length}",
        annotation_position="bottom right",
    )
    fig.update_xaxes(title="context length (tokens)" if mode == "windows" else "token position")
    fig.update_yaxes(
        title="held-out perplexity (log scale)" if perplexity else "held-out loss (nats per token)",
        type="log" if perplexity else "linear",
    )
    fig.update_layout(title=title, height=height, legend=dict(orientation="h", y=-0.2), **PLAIN)
    return fig

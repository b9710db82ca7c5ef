"""Pure figure builders: arrays in, plotly figures out (unit-testable, no Streamlit)."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), template="plotly_white")


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


# Positional page

# No named template: Streamlit's theme styles the charts anyway, and validating a template
# costs ~25 ms per figure, which a page of a dozen charts would pay on every rerun.
PLAIN = dict(margin=dict(l=10, r=10, t=40, b=10))


def position_heatmap(table: np.ndarray, title: str, height: int = 420) -> go.Figure:
    """A (position, dimension) table: position 0 at the top, each cell's exact value on hover."""
    n_pos, width = table.shape
    fig = go.Figure(
        go.Heatmap(
            z=table,
            x=np.arange(width),
            y=np.arange(n_pos),
            colorscale="RdBu",
            zmid=0,
            colorbar=dict(thickness=12, title="value"),
            hovertemplate="position %{y}, dimension %{x}<br>value %{z:.6f}<extra></extra>",
        )
    )
    fig.update_xaxes(title="dimension")
    fig.update_yaxes(title="position", autorange="reversed")
    fig.update_layout(title=title, height=height, **PLAIN)
    return fig


def similarity_heatmap(similarity: np.ndarray, title: str, height: int = 420) -> go.Figure:
    """Cosine similarity of every position with every other, on a fixed -1..1 scale."""
    n_pos = similarity.shape[0]
    fig = go.Figure(
        go.Heatmap(
            z=similarity,
            x=np.arange(n_pos),
            y=np.arange(n_pos),
            colorscale="RdBu",
            zmin=-1,
            zmax=1,
            colorbar=dict(thickness=12, title="cosine"),
            hovertemplate="positions %{y} and %{x}<br>cosine %{z:.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(title="position", constrain="domain")
    fig.update_yaxes(title="position", autorange="reversed", scaleanchor="x")
    fig.update_layout(title=title, height=height, **PLAIN)
    return fig


def dimension_waves(
    table: np.ndarray, dims: Sequence[int], title: str, height: int = 320
) -> go.Figure:
    """Chosen columns of a (position, dimension) table drawn as curves over position."""
    fig = go.Figure()
    positions = np.arange(table.shape[0])
    for d in dims:
        fig.add_trace(
            go.Scatter(
                x=positions,
                y=table[:, d],
                mode="lines",
                name=f"dim {d}",
                hovertemplate=f"dim {d}, position %{{x}}: %{{y:.6f}}<extra></extra>",
            )
        )
    fig.update_xaxes(title="position")
    fig.update_yaxes(title="value")
    fig.update_layout(title=title, height=height, legend=dict(orientation="h", y=-0.25), **PLAIN)
    return fig


def row_norms_chart(norms: np.ndarray, init_norm: float, height: int = 280) -> go.Figure:
    """Length of each learned position vector, against the length a random row starts with."""
    fig = go.Figure(
        go.Bar(
            x=np.arange(len(norms)),
            y=norms,
            name="learned row",
            hovertemplate="position %{x}: length %{y:.4f}<extra></extra>",
        )
    )
    # A line trace, not add_hline: a shape with an annotation costs ~50 ms to validate.
    fig.add_trace(
        go.Scatter(
            x=[-0.5, len(norms) - 0.5],
            y=[init_norm, init_norm],
            mode="lines",
            line=dict(dash="dash", color="#444"),
            name=f"random start ≈ {init_norm:.3f}",
            hovertemplate=f"a random row's length ≈ {init_norm:.3f}<extra></extra>",
        )
    )
    fig.update_xaxes(title="position")
    fig.update_yaxes(title="length of the row", rangemode="tozero")
    fig.update_layout(
        title="How far each learned row is from zero",
        height=height,
        legend=dict(orientation="h", y=-0.3),
        **PLAIN,
    )
    return fig


def rope_frequency_chart(inv_freq: np.ndarray, height: int = 360) -> go.Figure:
    """Radians per position of each RoPE pair (log scale), with the wavelength on hover."""
    pairs = np.arange(len(inv_freq))
    fig = go.Figure(
        go.Scatter(
            x=pairs,
            y=inv_freq,
            mode="lines+markers",
            customdata=2 * np.pi / inv_freq,
            hovertemplate=(
                "pair %{x}: %{y:.4g} radians per position<br>"
                "a full turn every %{customdata:.4g} positions<extra></extra>"
            ),
        )
    )
    fig.update_xaxes(title="dimension pair (2i, 2i+1)")
    fig.update_yaxes(title="rotation per position (radians)", type="log")
    fig.update_layout(title="RoPE: how fast each pair turns", height=height, **PLAIN)
    return fig


def rope_angle_heatmap(angles: np.ndarray, height: int = 360) -> go.Figure:
    """Each pair's angle at each position, wrapped to one turn on a cyclic colour scale."""
    n_pos, n_pairs = angles.shape
    fig = go.Figure(
        go.Heatmap(
            z=np.mod(angles, 2 * np.pi),
            x=np.arange(n_pairs),
            y=np.arange(n_pos),
            customdata=angles,
            colorscale="Twilight",
            zmin=0,
            zmax=2 * np.pi,
            colorbar=dict(
                thickness=12,
                title="angle",
                tickvals=[0, np.pi, 2 * np.pi],
                ticktext=["0", "π", "2π"],
            ),
            hovertemplate=(
                "position %{y}, pair %{x}<br>turned %{customdata:.4f} rad in all"
                "<br>%{z:.4f} rad after whole turns<extra></extra>"
            ),
        )
    )
    fig.update_xaxes(title="dimension pair")
    fig.update_yaxes(title="position", autorange="reversed")
    fig.update_layout(title="RoPE: the angle each pair is turned by", height=height, **PLAIN)
    return fig


def rope_relative_chart(score: np.ndarray, height: int = 360) -> go.Figure:
    """RoPE's q.k for a matching query and key, as the distance between them grows."""
    fig = go.Figure(
        go.Scatter(
            x=np.arange(len(score)),
            y=score,
            mode="lines",
            hovertemplate="distance %{x}: score %{y:.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(title="distance (positions)")
    fig.update_yaxes(title="q·k (1 at distance 0)")
    fig.update_layout(title="RoPE: score by distance", height=height, **PLAIN)
    return fig


def alibi_heatmap(bias: np.ndarray, head: int, slope: float, height: int = 420) -> go.Figure:
    """One head's ALiBi bias (query x key); the future, which is masked anyway, left blank."""
    n_pos = bias.shape[0]
    z = bias.astype(float).copy()
    z[np.triu_indices(n_pos, 1)] = np.nan
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=np.arange(n_pos),
            y=np.arange(n_pos),
            colorscale="Viridis",
            hoverongaps=False,
            colorbar=dict(thickness=12, title="bias"),
            hovertemplate="query %{y}, key %{x}<br>bias %{z:.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(title="key position", constrain="domain", showgrid=False)
    fig.update_yaxes(title="query position", autorange="reversed", scaleanchor="x", showgrid=False)
    fig.update_layout(
        title=f"ALiBi bias of head {head} (slope {slope:.4g})", height=height, **PLAIN
    )
    return fig


def alibi_lines(
    slopes: np.ndarray, n_pos: int, highlight: int | None = None, height: int = 420
) -> go.Figure:
    """Every head's penalty against distance: straight lines, one slope per head."""
    distance = np.arange(n_pos)
    fig = go.Figure()
    for head, slope in enumerate(slopes):
        fig.add_trace(
            go.Scatter(
                x=distance,
                y=-slope * distance,
                mode="lines",
                name=f"head {head} (slope {slope:.3g})",
                line=dict(width=4 if head == highlight else 1.5),
                hovertemplate=f"head {head}, distance %{{x}}: bias %{{y:.4f}}<extra></extra>",
            )
        )
    fig.update_xaxes(title="distance from query to key (positions)")
    fig.update_yaxes(title="bias added to the score")
    fig.update_layout(title="ALiBi: every head's penalty", height=height, **PLAIN)
    return fig


def similarity_by_distance_chart(curves: dict[str, np.ndarray], height: int = 320) -> go.Figure:
    """Mean cosine similarity of two positions against how far apart they are, one line per table."""
    fig = go.Figure()
    for name, curve in curves.items():
        fig.add_trace(
            go.Scatter(
                x=np.arange(len(curve)),
                y=curve,
                mode="lines",
                name=name,
                hovertemplate=f"{name}<br>distance %{{x}}: mean cosine %{{y:.4f}}<extra></extra>",
            )
        )
    fig.update_xaxes(title="distance between the two positions")
    fig.update_yaxes(title="mean cosine similarity", range=[-1.05, 1.05])
    fig.update_layout(
        title="Are nearby positions alike?",
        height=height,
        legend=dict(orientation="h", y=-0.25),
        **PLAIN,
    )
    return fig


# Attention page

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


def plotly_text(label: str) -> str:
    """Escape text for plotly, which reads '<b>', '<br>' and '&amp;' in labels as markup."""
    return html.escape(label, quote=False)


def markdown_literal(label: str) -> str:
    """Escape every ASCII punctuation mark, so Streamlit's Markdown shows the text as typed.

    Example: markdown_literal("*a*") == "\\*a\\*".
    """
    return "".join(
        "\\" + ch if ch.isascii() and not ch.isalnum() and not ch.isspace() else ch for ch in label
    )


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def token_pill(label: str, position: int) -> str:
    """A pill's Markdown label: the token and its position as a subscript, 'l₂'.

    Streamlit tells pills apart by their label, so two equal tokens need the position too.
    """
    return markdown_literal(label) + str(position).translate(_SUBSCRIPTS)


def token_names(labels: Sequence[str]) -> list[str]:
    """Unique axis categories '3 a' for tokens that may repeat (a category axis merges equals)."""
    return [f"{i} {plotly_text(label)}" for i, label in enumerate(labels)]


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


# Compare page

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
) -> go.Figure:
    """Training (lines) and validation (dashed, markers) curves, one colour per run group.

    series[name] = {"color", "dash", "n" (seeds), "steps", "train": (mean, low, high),
    "val_steps", "val": (mean, low, high)}; with more than one seed the band is their spread.
    """
    fig = go.Figure()
    unit = "perplexity" if perplexity else "loss"
    # Drawn last to first, so the first (learned) lies on top where curves coincide; the legend
    # keeps the given order.
    for rank, (name, s) in reversed(list(enumerate(series.items()))):
        color, label = s["color"], plotly_text(name)
        for part, steps, (mean, low, high), mode, dash in (
            ("train", s["steps"], s["train"], "lines", s.get("dash", "solid")),
            ("validation", s["val_steps"], s["val"], "lines+markers", "dot"),
        ):
            if not steps:
                continue
            if s["n"] > 1:
                _band(fig, steps, low, high, color, name)
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=mean,
                    mode=mode if len(steps) > 2 else "lines+markers",
                    name=f"{label} ({part})",
                    legendgroup=name,
                    legendrank=2 * rank + (part != "train"),
                    line=dict(color=color, dash=dash, width=2 if part == "train" else 1.5),
                    customdata=np.array([low, high], dtype=float).T,
                    hovertemplate=f"{label} {part}<br>step %{{x}}: {unit} %{{y:.3f}}"
                    + (
                        "<br>seeds from %{customdata[0]:.3f} to %{customdata[1]:.3f}"
                        if s["n"] > 1
                        else ""
                    )
                    + "<extra></extra>",
                )
            )
    fig.update_xaxes(title="step")
    fig.update_yaxes(
        title="perplexity" if perplexity else "loss (nats per token)",
        type="log" if perplexity else "linear",
    )
    fig.update_layout(title=title, height=height, legend=dict(orientation="h", y=-0.2), **PLAIN)
    return fig


def extrapolation_chart(
    series: dict[str, dict[str, Any]], mode: str, train_length: int, title: str, height: int = 460
) -> go.Figure:
    """Held-out loss against context length ("windows") or token position ("position").

    series[name] = {"color", "dash", "n", "x", "mean", "low", "high", "limit"}; None marks a
    point that is not defined (a learned table past its rows): the line stops there, and the
    region is shaded and labelled instead of being drawn with a made-up number.
    """
    fig = go.Figure()
    xmax = max((max(s["x"]) for s in series.values() if s["x"]), default=train_length)
    labelled = 0  # undefined regions labelled so far: their labels stack downwards
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
                hovertemplate=f"{label}<br>{where}: loss %{{y:.3f}}"
                + (
                    "<br>seeds from %{customdata[0]:.3f} to %{customdata[1]:.3f}"
                    if s["n"] > 1
                    else ""
                )
                + "<extra></extra>",
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
    fig.update_yaxes(title="held-out loss (nats per token)")
    fig.update_layout(title=title, height=height, legend=dict(orientation="h", y=-0.2), **PLAIN)
    return fig


# Training page


def _thin(
    xs: Sequence[float], ys: Sequence[float], n: int = 300
) -> tuple[list[float], list[float]]:
    """At most n points: consecutive buckets averaged, so a long noisy curve stays cheap to send.

    Example: _thin(range(10), range(10), 5) == ([0.5, 2.5, 4.5, 6.5, 8.5], [0.5, 2.5, 4.5, 6.5, 8.5])
    """
    if len(xs) <= n:
        return list(xs), list(ys)
    edges = np.linspace(0, len(xs), n + 1).astype(int)
    sizes = np.diff(edges)
    x = np.add.reduceat(np.asarray(xs, dtype=float), edges[:-1]) / sizes
    y = np.add.reduceat(np.asarray(ys, dtype=float), edges[:-1]) / sizes
    return x.tolist(), y.tolist()


TRAINING_COLORS = {  # series -> colour, the same in every panel; Streamlit's gray, blue, red
    "training batch": "#a3a8b8",  # and green, so a Markdown line (":blue[■ …]") is the legend
    "train (evaluated)": "#1c83e1",
    "validation": "#ff4b4b",
    "learning rate": "#21c354",
}


def _panel(title: str, y_title: str, series: list[str], max_steps: int | None) -> dict[str, Any]:
    x: dict[str, Any] = {"field": "step", "type": "quantitative", "title": "step"}
    if max_steps:
        x["scale"] = {"domain": [0, max_steps]}
    return {
        "title": title,
        "mark": {"type": "line", "clip": True, "tooltip": True},
        "encoding": {
            "x": x,
            "y": {
                "field": "value",
                "type": "quantitative",
                "title": y_title,
                "scale": {"zero": False},
            },
            "color": {
                "field": "series",
                "type": "nominal",
                "scale": {"domain": series, "range": [TRAINING_COLORS[s] for s in series]},
                "legend": None,  # one legend line for all three panels, drawn by the page
            },
        },
    }


def training_panels(
    rows: Sequence[dict[str, Any]], max_steps: int | None = None
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Loss, perplexity and learning rate over steps: three (Vega-Lite spec, data rows) pairs.

    Vega-Lite rather than plotly because the live page redraws these twice a second: a spec
    that stays the same while only its data grows is updated in place by the browser, where a
    new plotly figure is built (server) and laid out (browser) from scratch each time. Long
    curves are thinned, so each redraw sends a few hundred points.
    """
    steps = [r["step"] for r in rows if r.get("train_loss") is not None]
    batch = [r["train_loss"] for r in rows if r.get("train_loss") is not None]
    evals = [r for r in rows if r.get("val_loss") is not None]
    loss, ppl, lr = [], [], []
    for x, y in zip(*_thin(steps, batch), strict=True):
        loss.append({"step": x, "value": y, "series": "training batch"})
    for key, name in (("eval_train_loss", "train (evaluated)"), ("val_loss", "validation")):
        for r in evals:
            if r.get(key) is not None:
                loss.append({"step": r["step"], "value": r[key], "series": name})
                ppl.append({"step": r["step"], "value": math.exp(min(r[key], 50)), "series": name})
    lr_steps = [r["step"] for r in rows if r.get("lr") is not None]
    lrs = [r["lr"] for r in rows if r.get("lr") is not None]
    for x, y in zip(*_thin(lr_steps, lrs), strict=True):
        lr.append({"step": x, "value": y, "series": "learning rate"})
    evaluated = ["train (evaluated)", "validation"]
    return [
        (_panel("Loss", "nats per token", ["training batch", *evaluated], max_steps), loss),
        (_panel("Perplexity (evaluated)", "exp(loss)", evaluated, max_steps), ppl),
        (_panel("Learning rate", "learning rate", ["learning rate"], max_steps), lr),
    ]


def head_scores_over_training(
    steps: Sequence[int], previous_token: np.ndarray, induction: np.ndarray, height: int = 300
) -> go.Figure:
    """Each head's previous-token and induction score at every snapshot: (S, n_layer, n_head) in."""
    fig = go.Figure(
        layout=dict(
            height=height,
            **PLAIN,
            xaxis=dict(domain=[0, 0.47], title="step"),
            yaxis=dict(range=[0, 1.02], title="score"),
            xaxis2=dict(domain=[0.53, 1], anchor="y2", title="step"),
            yaxis2=dict(anchor="x2", range=[0, 1.02]),
            annotations=[
                dict(
                    text=t,
                    x=x,
                    y=1.0,
                    xref="paper",
                    yref="paper",
                    xanchor="center",
                    yanchor="bottom",
                    showarrow=False,
                )
                for t, x in (("Previous-token score", 0.235), ("Induction score", 0.765))
            ],
        )
    )
    _, n_layer, n_head = previous_token.shape
    palette = [
        "#1f77b4",
        "#ff7f0e",
        "#2ca02c",
        "#d62728",
        "#9467bd",
        "#8c564b",
        "#e377c2",
        "#7f7f7f",
    ]
    for layer in range(n_layer):
        for head in range(n_head):
            name = f"layer {layer} head {head}"
            style = dict(
                color=palette[head % len(palette)],
                dash=["solid", "dot", "dash", "dashdot"][layer % 4],
            )
            for axis, scores in (("", previous_token), ("2", induction)):
                fig.add_trace(
                    go.Scatter(
                        x=list(steps),
                        y=scores[:, layer, head],
                        mode="lines",
                        name=name,
                        legendgroup=name,
                        showlegend=axis == "",
                        line=style,
                        xaxis=f"x{axis}",
                        yaxis=f"y{axis}",
                        hovertemplate=f"{name}<br>step %{{x}}: %{{y:.2f}}<extra></extra>",
                    )
                )
    return fig

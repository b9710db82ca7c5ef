"""The positional page's figures: sinusoidal and learned tables, RoPE's rotations, ALiBi's bias."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from lab.charts.common import PLAIN


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
    fig.update_yaxes(title="position", autorange="reversed", scaleanchor="x", constrain="domain")
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
    # A line trace, not add_hline: a shape with an annotation is slow to validate
    # (benchmarks/RESULTS.md, "Why the code is so").
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
    fig.update_xaxes(title="pair (2i, 2i+1)")
    fig.update_yaxes(title="rotation per position (radians)", type="log")
    fig.update_layout(title="RoPE: speed per pair", height=height, **PLAIN)
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
    fig.update_layout(title="RoPE: the angle per pair", height=height, **PLAIN)
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


def alibi_heatmap(biases: np.ndarray, head: int, slope: float, height: int = 420) -> go.Figure:
    """One head's ALiBi bias (query x key) on a colour scale shared by every head.

    `biases` holds all heads, (n_head, P, P): the scale runs from the steepest head's farthest
    penalty up to 0, so a gentle head looks pale instead of being stretched to the same
    colours as a steep one. The future, which is masked anyway, is left blank.
    """
    bias = biases[head]
    n_pos = bias.shape[0]
    floor = min(float(biases.min()), -1e-9)  # one head and one position: all zeros
    z = bias.astype(float).copy()
    z[np.triu_indices(n_pos, 1)] = np.nan
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=np.arange(n_pos),
            y=np.arange(n_pos),
            colorscale="Viridis",
            zmin=floor,
            zmax=0.0,
            hoverongaps=False,
            colorbar=dict(thickness=12, title="bias<br>(every<br>head)"),
            hovertemplate="query %{y}, key %{x}<br>bias %{z:.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(title="key position", constrain="domain", showgrid=False)
    fig.update_yaxes(
        title="query position",
        autorange="reversed",
        scaleanchor="x",
        constrain="domain",
        showgrid=False,
    )
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
    fig.update_xaxes(title="query–key distance (positions)")
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

"""The Next token page's two linked views (altair): surprise over a text as a strip of tokens
with what the model expected at the clicked one, and the logit lens with the final pick's rank
layer by layer. Clicking one part of a view filters the other, inside the browser.

Pure functions from arrays and labels to charts; token labels arrive already made visible
(lab.engine.views.visible).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from lab.charts.next_token import KEPT, SAMPLED

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
SURPRISE_MAX_BITS = 10.0  # the colour scale's top: fixed, so two texts can be compared
STRIP_WIDTH = 64  # characters per line of a token strip


def strip_layout(labels: Sequence[str], width: int = STRIP_WIDTH) -> list[tuple[int, int, int]]:
    """Where each token sits in a wrapped strip: (row, x0, x1) in character cells.

    A token is as wide as its label (at least one cell); a line ends after a new-line token or
    before a token that would pass `width`.
    Example: strip_layout(["ab", "↵", "c"]) == [(0, 0, 2), (0, 2, 3), (1, 0, 1)].
    """
    out, row, x = [], 0, 0
    for label in labels:
        w = max(1, len(label))
        if x and x + w > width:
            row, x = row + 1, 0
        out.append((row, x, x + w))
        x += w
        if label.endswith("↵"):
            row, x = row + 1, 0
    return out


def position_name(label: str, position: int) -> str:
    """A token and its position as a subscript, unique even when tokens repeat: 'e₁₂'."""
    return label + str(position).translate(_SUBSCRIPTS)


def surprise_chart(
    labels: Sequence[str],
    nats: np.ndarray,
    top_labels: Sequence[Sequence[str]],
    top_probs: np.ndarray,
    selected: int | None = None,
) -> alt.VConcatChart:
    """The text as a strip of tokens coloured by surprise (bits); click one to see below what
    the model expected there. Hover shows the numbers and the top alternatives."""
    bits = np.asarray(nats, dtype=float) / math.log(2)
    layout = strip_layout(labels)
    tokens = pd.DataFrame(
        {
            "pos": range(len(labels)),
            "token": list(labels),
            "row": [r for r, _, _ in layout],
            "x0": [a for _, a, _ in layout],
            "x1": [b for _, _, b in layout],
            "xm": [(a + b) / 2 for _, a, b in layout],
            "bits": [None, *bits.round(2).tolist()],
            "p": [None, *np.exp(-np.asarray(nats, dtype=float)).round(3).tolist()],
            "expected": ["(first token: not predicted)"]
            + [
                " · ".join(f"{a} {p:.0%}" for a, p in zip(alts, ps, strict=True))
                for alts, ps in zip(top_labels, top_probs, strict=True)
            ],
        }
    )
    # The alternatives ride along as columns a0.., p0.. of each token's row (one row per token
    # keeps a few thousand characters under altair's row limit); the bars fold them out.
    k = len(top_labels[0]) if len(top_labels) else 0
    for r in range(k):
        tokens[f"a{r}"] = [""] + [alts[r] for alts in top_labels]
        tokens[f"p{r}"] = [None] + [float(ps[r]) for ps in top_probs]
    if selected is None:
        selected = int(np.argmax(bits)) + 1 if len(bits) else 0
    pick = alt.selection_point(fields=["pos"], on="click", value=[{"pos": selected}], name="token")
    n_rows = (max(r for r, _, _ in layout) + 1) if layout else 1
    base = alt.Chart(tokens)
    x = alt.X("x0:Q", axis=None, scale=alt.Scale(domain=[0, STRIP_WIDTH]))
    y = alt.Y("row:O", axis=None)
    cells = base.mark_rect(stroke="white", strokeWidth=1, cornerRadius=2).encode(
        x=x,
        x2="x1:Q",
        y=y,
        color=alt.Color(
            "bits:Q",
            scale=alt.Scale(scheme="orangered", domain=[0, SURPRISE_MAX_BITS], clamp=True),
            legend=alt.Legend(title="surprise (bits)", orient="top"),
        ),
        strokeOpacity=alt.condition(pick, alt.value(1.0), alt.value(0.0)),
        tooltip=[
            alt.Tooltip("token:N"),
            alt.Tooltip("bits:Q", title="surprise (bits)"),
            alt.Tooltip("p:Q", title="p the model gave it"),
            alt.Tooltip("expected:N", title="the model expected"),
        ],
    )
    outline = (
        base.mark_rect(fill=None, stroke="black", strokeWidth=2)
        .encode(x=x, x2="x1:Q", y=y)
        .transform_filter(pick)
    )
    text = base.mark_text(font="monospace", fontSize=13).encode(
        x="xm:Q", y=y, text="token:N", tooltip=["token:N", "expected:N"]
    )
    strip = (cells + outline + text).add_params(pick).properties(width=760, height=22 * n_rows)
    bars = (
        base.transform_filter(pick)
        .transform_fold([f"p{r}" for r in range(k)], as_=["slot", "p"])
        .transform_calculate(
            rank="toNumber(substring(datum.slot, 1))",
            alternative="(toNumber(substring(datum.slot, 1)) + 1) + '. ' + "
            "datum['a' + substring(datum.slot, 1)]",
        )
        .mark_bar(color=KEPT)
        .encode(
            x=alt.X("p:Q", title="probability", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("alternative:N", sort=alt.SortField("rank"), title=None),
            tooltip=["alternative:N", alt.Tooltip("p:Q", format=".1%")],
        )
        .properties(width=760, height=130, title="What the model expected at the clicked token")
    )
    return alt.vconcat(strip, bars).configure_view(stroke=None)


def lens_chart(
    labels: Sequence[str],
    positions: Sequence[int],
    top_labels: Sequence[Sequence[Sequence[str]]],
    top_probs: np.ndarray,
    final_labels: Sequence[str],
    final_rank: np.ndarray,
) -> alt.VConcatChart:
    """Layers x positions: each cell the top next token at that layer and its probability.
    Click a column: below, the rank of the model's final pick layer by layer, and the last
    layer's distribution there."""
    n_layer, n_pos = final_rank.shape
    names = [position_name(label, int(p)) for label, p in zip(labels, positions, strict=True)]
    cells = pd.DataFrame(
        [
            {
                "pos": int(positions[t]),
                "input": names[t],
                "layer": layer + 1,
                "top": top_labels[layer][t][0],
                "p": round(float(top_probs[layer, t, 0]), 3),
                "rank": int(final_rank[layer, t]),
                "final": final_labels[t],
            }
            for layer in range(n_layer)
            for t in range(n_pos)
        ]
    )
    last = pd.DataFrame(
        [
            {"pos": int(positions[t]), "rank": r, "candidate": f"{r + 1}. {a}", "p": float(p)}
            for t in range(n_pos)
            for r, (a, p) in enumerate(zip(top_labels[-1][t], top_probs[-1, t], strict=True))
        ]
    )
    last_pos = int(positions[-1]) if n_pos else 0
    pick = alt.selection_point(fields=["pos"], on="click", value=[{"pos": last_pos}], name="column")
    x = alt.X("input:N", sort=names, title="input token (position)", axis=alt.Axis(labelAngle=0))
    y = alt.Y("layer:O", sort="descending", title="after block")
    base = alt.Chart(cells)
    heat = base.mark_rect().encode(
        x=x,
        y=y,
        color=alt.Color(
            "p:Q",
            scale=alt.Scale(scheme="blues", domain=[0, 1]),
            legend=alt.Legend(title="top token's p", orient="top"),
        ),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.55)),
        tooltip=[
            alt.Tooltip("input:N", title="input"),
            alt.Tooltip("layer:O", title="after block"),
            alt.Tooltip("top:N", title="would predict"),
            alt.Tooltip("p:Q", title="with p"),
            alt.Tooltip("final:N", title="the model's final pick"),
            alt.Tooltip("rank:Q", title="final pick's rank here (0 = top)"),
        ],
    )
    words = base.mark_text(font="monospace", fontSize=12).encode(
        x=x,
        y=y,
        text="top:N",
        color=alt.condition("datum.p > 0.5", alt.value("white"), alt.value("black")),
    )
    grid = (
        (heat + words).add_params(pick).properties(width=max(300, 30 * n_pos), height=30 * n_layer)
    )
    rank = (
        base.transform_filter(pick)
        .mark_line(point=True, color=SAMPLED)
        .encode(
            x=alt.X("layer:O", title="after block"),
            y=alt.Y("rank:Q", title="rank of the final pick (0 = top)"),
            tooltip=["layer:O", "rank:Q", "final:N"],
        )
        .properties(width=360, height=180, title="The final pick's rank, layer by layer")
    )
    dist = (
        alt.Chart(last)
        .transform_filter(pick)
        .mark_bar(color=KEPT)
        .encode(
            x=alt.X("p:Q", title="probability", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("candidate:N", sort=alt.SortField("rank"), title=None),
            tooltip=["candidate:N", alt.Tooltip("p:Q", format=".1%")],
        )
        .properties(width=300, height=180, title="The model's distribution there")
    )
    return alt.vconcat(grid, alt.hconcat(rank, dist)).configure_view(stroke=None)

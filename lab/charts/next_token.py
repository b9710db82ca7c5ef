"""The Next token page's figures: the sampling stages (plotly) and the sequence coloured by
probability (HTML). Its two linked altair views are in next_token_linked.py.

Pure functions from arrays and labels to figures; token labels arrive already made visible
(lab.engine.views.visible) and are escaped here for each medium.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from lab.charts.common import PLAIN, axis_suffix, grid_cells, panel_title
from lab.charts.labels import plotly_text

CUT_NOTE_WIDTH = 16  # characters a line of the cut's note: one narrow panel wide on a projector
KEPT, CUT, SAMPLED, RAW = "#1f77b4", "#c8c8c8", "#ff7f0e", "#7f9fbf"
STAGE_TITLES = ("1. the model's odds", "2. after temperature", "3. the cut", "4. renormalised")
# The same, as the panels' titles: two lines, so that four panels side by side on a 1024-wide
# projector do not run their titles into each other.
PANEL_TITLES = (
    "1. model's<br>odds",
    "2. after<br>temperature",
    "3. the<br>cut",
    "4. renormalised",
)


def stages_figure(
    labels: Sequence[str],
    raw: np.ndarray,
    tempered: np.ndarray,
    kept: np.ndarray,
    final: np.ndarray,
    rest: dict[str, float],
    n_rest: int,
    sampled_row: int | None,
    cut_note: str = "",
) -> go.Figure:
    """Four panels sharing one row per token (likeliest first) plus an "all the rest" row.

    Panel 3 greys the tokens the cut removed and draws the cut line under the last kept one;
    panel 4 marks the sampled token (sampled_row, or the rest row when it is past the top).
    """
    n = len(labels)
    rows = list(range(n + 1))
    ticks = [plotly_text(label) for label in labels] + [f"all the rest ({n_rest} tokens)"]
    kept_rows = [bool(k) for k in kept] + [rest["kept"] > 0]
    panels = (
        (np.append(raw, rest["raw"]), [RAW] * (n + 1)),
        (np.append(tempered, rest["tempered"]), [KEPT] * (n + 1)),
        (np.append(tempered, rest["tempered"]), [KEPT if k else CUT for k in kept_rows]),
        (np.append(final, rest["final"]), [KEPT if k else CUT for k in kept_rows]),
    )
    mark = n if sampled_row is None else sampled_row
    panels[3][1][mark] = SAMPLED
    # Built whole as plain dicts: it redraws on every slider move (see lab/charts/common.py).
    layout: dict = dict(PLAIN, height=110 + 24 * (n + 1), bargap=0.25)
    # Room for "100.0% ◀ sampled" past the last panel's axis, and for two-line titles.
    layout["margin"] = dict(PLAIN["margin"], r=80, t=60)
    data, annotations, shapes = [], [], []
    cells = grid_cells(1, 4, h_gap=0.03, v_gap=0.0)
    for col, ((values, colours), (x_domain, y_domain)) in enumerate(
        zip(panels, cells, strict=True), start=1
    ):
        suffix = axis_suffix(col - 1)
        x, y = f"x{suffix}", f"y{suffix}"
        text = [f"{v:.1%}" if v >= 0.0005 else "" for v in values]
        if col == 4:
            text[mark] += " ◀ sampled"
        data.append(
            dict(
                type="bar",
                x=values,
                y=rows,
                xaxis=x,
                yaxis=y,
                orientation="h",
                marker=dict(color=colours),
                text=text,
                textposition="outside",
                cliponaxis=False,
                customdata=ticks,
                hovertemplate="%{customdata}: %{x:.2%}<extra>" + STAGE_TITLES[col - 1] + "</extra>",
                showlegend=False,
            )
        )
        layout[f"xaxis{suffix}"] = dict(
            anchor=y, domain=x_domain, range=[0, 1.45], tickvals=[0, 0.5, 1], tickformat=".0%"
        )
        # One row per token across the four panels: the first names them, the others follow it.
        shared = dict(tickvals=rows, ticktext=ticks, autorange="reversed")
        if col > 1:
            shared = dict(matches="y", showticklabels=False)
        layout[f"yaxis{suffix}"] = dict(shared, anchor=x, domain=y_domain, tickfont=dict(size=14))
        annotations.append(panel_title(PANEL_TITLES[col - 1], x_domain, y_domain))
    first_cut = next((i for i, k in enumerate(kept_rows) if not k), None)
    if first_cut is not None and first_cut > 0:
        for col in (3, 4):
            shapes.append(
                dict(
                    type="line",
                    xref=f"x{col} domain",
                    x0=0,
                    x1=1,
                    yref=f"y{col}",
                    y0=first_cut - 0.5,
                    y1=first_cut - 0.5,
                    line=dict(color="#d62728", dash="dash"),
                )
            )
        # Under the line in panel 4, whose cut rows are empty (they have no probability left);
        # in panel 3 the note ran into the first cut row's value at 1024 px wide.
        annotations.append(
            dict(
                x=0,
                y=first_cut - 0.5,
                xref="x4",
                yref="y4",
                text="<br>".join(textwrap.wrap(cut_note or "cut", CUT_NOTE_WIDTH)),
                showarrow=False,
                xanchor="left",
                yanchor="top",
                align="left",
                font=dict(color="#d62728"),
            )
        )
    layout["annotations"], layout["shapes"] = annotations, shapes
    return go.Figure(data=data, layout=layout)


def probability_colour(p: float) -> str:
    """Red for a token the model found unlikely, through yellow, to green for a sure one.

    Example: probability_colour(1.0) == "hsl(120, 70%, 80%)".
    """
    return f"hsl({round(120 * min(max(p, 0.0), 1.0))}, 70%, 80%)"


def sequence_html(labels: Sequence[str], probs: Sequence[float | None], n_prompt: int) -> str:
    """The sequence as coloured spans: each token's background is the probability the model
    gave it (none for the first), tokens after the prompt underlined; hover shows the number."""
    spans = []
    for i, (label, p) in enumerate(zip(labels, probs, strict=True)):
        style = "padding:1px 2px;margin:1px;border-radius:3px;font-family:monospace;"
        style += f"background:{probability_colour(p)};" if p is not None else "background:#eee;"
        if i >= n_prompt:
            style += "text-decoration:underline;font-weight:bold;"
        tip = "the first token: nothing before it to predict it" if p is None else f"p = {p:.3f}"
        spans.append(f'<span style="{style}" title="{tip}">{html.escape(label)}</span>')
        if label.endswith("↵"):
            spans.append("<br>")
    return '<div style="line-height:1.9">' + "".join(spans) + "</div>"

"""The training page's live panels (Vega-Lite specs, cheaper to redraw twice a second) and the
heads' scores over training."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from lab.charts.common import PLAIN, TRAIN_COLOR, VALIDATION_COLOR


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
    "train (evaluated)": TRAIN_COLOR,
    "validation": VALIDATION_COLOR,
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


PERPLEXITY_WAIT = ["Perplexity appears after", "the second evaluation"]  # lines: a narrow panel


def _waiting(title: str, text: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A panel that says what it is waiting for, in place of an empty frame: a text mark on
    one placeholder row (no axes, no border)."""
    spec = {
        "title": title,
        "mark": {"type": "text", "align": "left", "baseline": "top", "fontSize": 14},
        "encoding": {"x": {"value": 0}, "y": {"value": 10}, "text": {"value": text}},
        "config": {"view": {"stroke": None}},
    }
    return spec, [{"step": 0, "value": 0.0, "series": "validation"}]


EVALUATED = ["train (evaluated)", "validation"]
FORMED_SERIES = "induction head formed"  # the loss panel's marker row, not a curve
FORMED_COLOR = "#d62728"  # the dashed red line the forming section's charts draw too


def _loss_panel(max_steps: int | None) -> dict[str, Any]:
    """The loss panel: its curves, and a dashed rule with a label at the step of the row whose
    series is FORMED_SERIES (if any). The marker travels in the data, not the spec, so the spec
    stays the same before and after a head forms and the browser keeps updating it in place."""
    curves = _panel("Loss", "nats per token", ["training batch", *EVALUATED], max_steps)
    is_mark = f"datum.series === '{FORMED_SERIES}'"
    return {
        "title": curves.pop("title"),
        "encoding": {"x": curves["encoding"].pop("x")},  # shared by the layers
        "layer": [
            {"transform": [{"filter": f"!({is_mark})"}], **curves},
            {
                "transform": [{"filter": is_mark}],
                "mark": {"type": "rule", "color": FORMED_COLOR, "strokeDash": [6, 4]},
            },
            {
                "transform": [
                    {"filter": is_mark},
                    {
                        "calculate": "'induction ≥ 0.5 at step ' + format(datum.step, ',')",
                        "as": "label",
                    },
                ],
                "mark": {
                    "type": "text",
                    "align": "left",
                    "baseline": "top",
                    "dx": 4,
                    "color": FORMED_COLOR,
                },
                "encoding": {"y": {"value": 2}, "text": {"field": "label"}},
            },
        ],
    }


def training_panels(
    rows: Sequence[dict[str, Any]], max_steps: int | None = None, formed: int | None = None
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Loss, perplexity and learning rate over steps: three (Vega-Lite spec, data rows) pairs.

    `formed`, the step at which some head's induction score first reached 0.5 (a run on
    repeated spans, FormingTrace.first_step_above), is marked on the loss panel: one row of
    series FORMED_SERIES at that step, drawn as a dashed rule with its label.

    Vega-Lite rather than plotly because the live page redraws these twice a second: a spec
    that stays the same while only its data grows is updated in place by the browser, where a
    new plotly figure is built (server) and laid out (browser) from scratch each time. Long
    curves are thinned, so each redraw sends a few hundred points. Perplexity is drawn from
    the evaluations only, so until there are two of them (a line needs two points) its panel
    says so instead of drawing an empty frame.
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
    if formed is not None:
        loss.append({"step": formed, "value": None, "series": FORMED_SERIES})
    perplexity = (
        (_panel("Perplexity", "exp(evaluated loss)", EVALUATED, max_steps), ppl)
        if len({r["step"] for r in evals}) >= 2
        else _waiting("Perplexity", PERPLEXITY_WAIT)
    )
    return [
        (_loss_panel(max_steps), loss),
        perplexity,
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

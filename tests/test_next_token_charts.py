"""The Next token page's chart builders: the wrapped token strip, the coloured sequence, the
sampling stages' cut and sampled token, and both linked views as valid Vega-Lite."""

from __future__ import annotations

import json

import numpy as np

from lab.charts import next_token as nt_charts
from lab.charts import next_token_linked as nt_linked


def test_strip_layout_wraps_at_the_width_and_after_new_lines():
    assert nt_linked.strip_layout(["ab", "↵", "c"]) == [(0, 0, 2), (0, 2, 3), (1, 0, 1)]
    assert nt_linked.strip_layout(["aaa", "bb"], width=4) == [(0, 0, 3), (1, 0, 2)]


def test_sequence_html_escapes_tokens_and_marks_added_ones():
    html = nt_charts.sequence_html(["<b>", "a", "&"], [None, 0.0, 1.0], n_prompt=2)
    assert "&lt;b&gt;" in html and "&amp;" in html and "<b>" not in html
    assert html.count("underline") == 1
    assert nt_charts.probability_colour(0.0) in html and nt_charts.probability_colour(1.0) in html


def test_stages_figure_marks_the_cut_and_the_sampled_token():
    p = np.array([0.5, 0.3, 0.2])
    fig = nt_charts.stages_figure(
        ["a", "b", "c"],
        p,
        p,
        np.array([True, True, False]),
        np.array([0.625, 0.375, 0.0]),
        {"raw": 0.0, "tempered": 0.0, "kept": 0.0, "final": 0.0},
        0,
        sampled_row=1,
        cut_note="cut by top-p",
    )
    assert list(fig.data[3].marker.color) == [
        nt_charts.KEPT,
        nt_charts.SAMPLED,
        nt_charts.CUT,
        nt_charts.CUT,
    ]
    lines = [s for s in fig.layout.shapes if s.line.dash == "dash"]
    assert lines and all(s.y0 == 1.5 for s in lines)  # between b (kept) and c (cut)
    assert any(a.text == "cut by top-p" for a in fig.layout.annotations)


def test_both_linked_views_are_valid_vega_lite():
    labels = ["a", "␣", "b", "↵", "c"]
    rng = np.random.default_rng(0)
    top = rng.dirichlet(np.ones(5), size=4)
    top = -np.sort(-top, axis=1)
    nats = np.array([0.1, 2.0, 0.5, 0.3])  # the second prediction (token 2) surprises most
    spec = nt_linked.surprise_chart(labels, nats, [labels] * 4, top).to_dict()  # validated
    assert '"value": [{"pos": 2}]' in json.dumps(spec)  # it is the token selected at first
    n_layer, n_pos = 3, 5
    lens = nt_linked.lens_chart(
        labels,
        np.arange(10, 15),
        [[[label] * 2 for label in labels] for _ in range(n_layer)],
        np.full((n_layer, n_pos, 2), 0.5),
        labels,
        np.zeros((n_layer, n_pos), dtype=int),
    )
    assert lens.to_dict()["vconcat"][0]["layer"][0]["encoding"]["x"]["sort"][0] == "a₁₀"

"""The Compare page's pure pieces (lab/compare/, lab/charts/compare.py): series that average
seeds and keep undefined points undefined, the ordering in words, differences, CSVs, the summary
table's dashes, perplexity, and live charts whose axes hold still while runs grow."""

import csv
import dataclasses
import io
import math

import pytest

from lab import charts
from lab.compare import entries as compare_entries
from lab.compare import series as compare_series
from lab.compare import table as compare_table
from minigpt import GPTConfig
from minigpt.training.trainer import TrainConfig
from tests.compare_page import (
    entry,
    extrapolation,
)


def test_series_average_seeds_and_keep_undefined_points_undefined():
    entries = [entry("learned", 0, [2.0, 1.8, None], 8), entry("learned", 1, [2.2, 2.0, None], 8)]
    series = compare_series.extrapolation_series(entries, "windows")["learned"]
    assert series["mean"] == [pytest.approx(2.1), pytest.approx(1.9), None]
    assert series["low"][:2] == [2.0, 1.8] and series["high"][2] is None
    curves = compare_series.curve_series(entries)["learned"]
    assert curves["steps"] == [10, 20] and curves["train"][0] == [3.5, 2.0]
    assert curves["val_steps"] == [20]
    fig = charts.extrapolation_chart(
        compare_series.extrapolation_series(entries, "windows"), "windows", 8, "t"
    )
    assert any("learned: no positions past 8" in a.text for a in fig.layout.annotations)


def test_the_ordering_is_computed_from_the_numbers():
    entries = [
        entry("alibi", 0, [2.0, 1.9, 1.9]),
        entry("alibi", 1, [2.0, 1.9, 1.95]),
        entry("sinusoidal", 0, [2.0, 1.95, 2.6]),
        entry("sinusoidal", 1, [2.0, 1.96, 2.8]),
        entry("learned", 0, [2.0, 2.0, None], 8),
        entry("learned", 1, [2.0, 2.01, None], 8),
    ]
    text = "\n".join(compare_series.ordering_lines(entries, "windows"))
    assert "at 8 tokens (1×" in text and "**alibi** 1.900 ± 0.000 <" in text
    assert "at 16 tokens (2×" in text and "not defined for **learned**" in text
    assert "**sinusoidal** at context 16" in text and "**alibi** never does" in text
    flipped = [
        dataclasses.replace(
            e,
            extrapolation={
                "windows": extrapolation(
                    [2.0, 1.9, 3.0 if e.pos_emb == "alibi" else 1.9],
                    e.extrapolation["windows"].limit,
                )
            },
        )
        for e in entries
    ]
    assert "**alibi** at context 16" in "\n".join(compare_series.ordering_lines(flipped, "windows"))


def test_differences_name_every_field_but_the_encoding():
    a = compare_entries.HeldFixed(GPTConfig(), TrainConfig(), "char", "shakespeare")
    assert (
        compare_entries.differences(
            a, dataclasses.replace(a, model=a.model.replace(pos_emb="rope"))
        )
        == []
    )
    b = compare_entries.HeldFixed(GPTConfig(n_layer=2), TrainConfig(seed=1), "bpe", "upload:abc")
    assert compare_entries.differences(a, b) == [
        "n_layer: 2 (reference: 4)",
        "seed: 1 (reference: 1337)",
        "tokenizer: bpe (reference: char)",
        "corpus: upload:abc (reference: shakespeare)",
    ]


def test_csv_exports_leave_undefined_points_empty():
    entries = [entry("learned", 0, [2.0, 1.8, None], 8)]
    rows = list(csv.DictReader(io.StringIO(compare_series.extrapolation_csv(entries))))
    assert [r["loss"] for r in rows] == ["2", "1.8", ""]
    assert [r["defined"] for r in rows] == ["True", "True", "False"]
    curves = list(csv.DictReader(io.StringIO(compare_series.curves_csv(entries))))
    assert curves[1]["val_loss"] == "2.5"
    assert float(curves[1]["val_ppl"]) == pytest.approx(math.exp(2.5), rel=1e-5)


def test_no_cell_of_the_table_is_none_and_the_dash_is_explained():
    measured = entry("learned", 0, [2.0, 1.8, None], 8)
    unmeasured = dataclasses.replace(entry("rope", 0, [2.0, 1.9, 1.9]), extrapolation={})
    table, helps = compare_table.summary_table([measured, unmeasured])
    cells = table.set_index("run")
    assert cells.loc["learned", "2× (16)"] == compare_table.DASH  # past the table: undefined
    assert cells.loc["rope", "1× (8)"] == compare_table.DASH  # never measured
    assert cells.loc["learned", "vs none"] == compare_table.DASH  # no baseline to compare with
    assert not table.isna().any().any()
    assert not (table.astype(str) == "None").any().any()
    assert "not defined" in helps["2× (16)"] and "no row past its length" in helps["2× (16)"]


def test_perplexity_is_exp_of_the_loss_in_every_view():
    entries = [entry("learned", 0, [2.0, 1.8, None], 8), entry("alibi", 0, [2.0, 1.5, 1.5])]
    series = compare_series.extrapolation_series(entries, "windows", perplexity=True)
    assert series["learned"]["mean"] == [
        pytest.approx(math.exp(2.0)),
        pytest.approx(math.exp(1.8)),
        None,
    ]
    curves = compare_series.curve_series(entries, perplexity=True)["learned"]
    assert curves["train"][0] == [pytest.approx(math.exp(3.0)), pytest.approx(math.exp(2.0))]
    table, _ = compare_table.summary_table(entries, perplexity=True)
    assert table.set_index("run").loc["alibi", "2× (16)"] == f"{math.exp(1.5):.2f}"
    assert "val ppl" in table.columns
    text = "\n".join(compare_series.ordering_lines(entries, "windows", perplexity=True))
    assert f"**alibi** {math.exp(1.5):.2f}" in text and "in perplexity" in text
    assert "perplexity rises more than 11% (0.1 nats of loss)" in text
    fig = charts.extrapolation_chart(series, "windows", 8, "t", perplexity=True)
    assert fig.layout.yaxis.type == "log"


def test_a_live_chart_keeps_its_axes_and_legend_while_runs_grow():
    early = [dataclasses.replace(entry("rope", 0, [2.0] * 3), steps=150)]
    late = [
        dataclasses.replace(
            e,
            curve=[*e.curve, {"step": 100, "train_loss": 1.5, "val_loss": 1.6}],
        )
        for e in early
    ]
    figs = []
    for entries in (early, late):
        figs.append(
            charts.compare_curves(
                compare_series.curve_series(entries),
                x_range=compare_series.x_span(entries),
                steady=True,
            )
        )
    for fig in figs:
        assert list(fig.layout.xaxis.range) == [0, 150]  # the planned length, not steps so far
        assert list(fig.layout.yaxis.range) == [0, pytest.approx(3.0 * 1.05)]
        assert [t.name for t in fig.data if t.showlegend] == ["rope"]  # one entry per run


def test_runs_of_different_lengths_share_an_axis_in_percent_of_training():
    short = dataclasses.replace(entry("rope", 0, [2.0] * 3), steps=20)
    long_run = dataclasses.replace(
        entry("alibi", 0, [2.0] * 3),
        steps=200,
        curve=[{"step": 100, "train_loss": 2.0}, {"step": 200, "train_loss": 1.5, "val_loss": 1.6}],
    )
    assert compare_series.by_share([short, long_run])
    series = compare_series.curve_series([short, long_run])
    assert series["rope"]["steps"] == [50.0, 100.0] and series["alibi"]["steps"] == [50.0, 100.0]
    assert compare_series.x_span([short, long_run]) == (0.0, 100.0)
    fig = charts.compare_curves(series, share=True)
    assert fig.layout.xaxis.title.text == "% of each run's training"
    similar = dataclasses.replace(short, steps=150)
    assert not compare_series.by_share([similar, long_run])
    assert compare_series.curve_series([similar, long_run])["rope"]["steps"] == [10, 20]
    assert compare_series.x_span([similar, long_run]) == (0.0, 200.0)

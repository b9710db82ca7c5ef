"""The Compare page: shipped results at once, alone and through the router; the reading switch
changes the chart; a live comparison trains and is measured; added runs are flagged; and the
pure pieces behind it (series, text, CSV, charts)."""

import base64
import csv
import dataclasses
import io
import json
import math

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lab import charts, state
from lab.cache.compare import COMPARE_RESULTS
from lab.compare import entries as compare_entries
from lab.compare import results as compare_results
from lab.compare import series as compare_series
from lab.compare import state as cmp_state
from lab.compare import table as compare_table
from lab.engine.comparison import CompareSpec
from lab.engine.models import LabModel
from lab.engine.runs import RunRecord
from minigpt import GPT, GPTConfig
from minigpt.analysis.extrapolation import Extrapolation
from minigpt.tokenizers.tokenizer import CharTokenizer
from minigpt.training.corpus import shakespeare_text
from minigpt.training.trainer import TrainConfig
from tests.apptest import TIMEOUT, errors, page_path, run_page, run_router

TINY = "Tiny (tests)"
TINY_SPEC = CompareSpec(
    GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, scale_embeddings=True),
    TrainConfig(batch_size=4, max_iters=12, warmup_iters=2, eval_interval=6, eval_iters=1),
    eval_tokens=512,
)


def figures(at: AppTest) -> dict[str, dict]:
    """Every chart on the page by its title; the shipped tab's come first, so they win."""
    out: dict[str, dict] = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        out.setdefault(spec["layout"]["title"]["text"], spec)
    return out


def titled(at: AppTest, start: str) -> dict:
    return next(spec for title, spec in figures(at).items() if title.startswith(start))


def array(value) -> np.ndarray:
    """A plotly array from the JSON spec: a list (None for gaps) or plotly>=6's base64 form."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), value["dtype"]).astype(float)
    return np.array([np.nan if v is None else v for v in value], dtype=float)


def trace(spec: dict, name: str) -> dict:
    return next(t for t in spec["data"] if t.get("name") == name)


def notes(spec: dict) -> list[str]:
    return [a["text"] for a in spec["layout"].get("annotations", [])]


# ---------------------------------------------------------------- the page


@pytest.fixture(scope="module")
def alone() -> AppTest:
    return run_page("compare")


def test_the_page_runs_alone_and_shows_the_shipped_comparison_at_once(alone):
    assert errors(alone) == []
    curves = titled(alone, "Training curves")
    assert {t["name"] for t in curves["data"] if "name" in t} >= {
        "learned",
        "alibi (validation)",
    }
    text = "\n".join(m.value for m in alone.markdown)
    assert "Measured on held-out text, 3 seeds per encoding" in text
    assert "not defined for **learned**" in text
    assert len(alone.get("download_button")) >= 2


def test_learned_is_shown_as_undefined_past_its_table(alone):
    spec = titled(alone, "Held-out loss over non-overlapping windows")
    learned = trace(spec, "learned")
    x, y = np.array(learned["x"]), array(learned["y"])
    assert np.isfinite(y[x <= 64]).all() and np.isnan(y[x > 64]).all()
    assert any(n.startswith("learned: no positions past 64") for n in notes(spec))
    assert np.isfinite(array(trace(spec, "alibi")["y"])).all()  # the others run at any length
    table = alone.table[0].value
    assert table.set_index("run").loc["learned", "4× (256)"] == compare_table.DASH


def test_switching_the_reading_changes_the_chart():
    at = run_page("compare")
    before = titled(at, "Held-out loss over")
    at.radio(key=cmp_state.CMP_READING).set_value("position").run()
    assert errors(at) == []
    after = titled(at, "Held-out loss at each token position")
    assert trace(before, "alibi")["x"] == [32, 48, 64, 80, 96, 128, 192, 256]
    assert trace(after, "alibi")["x"] == list(range(256))
    learned = array(trace(after, "learned")["y"])
    assert np.isfinite(learned[:64]).all() and np.isnan(learned[64:]).all()
    assert "at positions 64-127" in "\n".join(m.value for m in at.markdown)


def test_the_page_runs_through_the_router():
    at = run_router("compare")
    assert errors(at) == []
    assert at.title[0].value == "Compare positional encodings"


def test_a_live_comparison_trains_then_is_measured(monkeypatch):
    monkeypatch.setitem(compare_entries.LIVE_PRESETS, TINY, TINY_SPEC)
    at = AppTest.from_file(page_path("compare"), default_timeout=TIMEOUT)
    at.session_state[cmp_state.CMP_PRESET] = TINY
    at.session_state[cmp_state.CMP_ENCODINGS] = ["learned", "rope"]
    at.run()
    at.button(key=cmp_state.CMP_START).click().run()
    assert errors(at) == [] and "Training: step" in " ".join(i.value for i in at.info)
    # It trains on the session's thread; once that ends, a run() stands for the fragment's
    # poll (AppTest never ticks run_every).
    state.trainer_in(at.session_state).trainer.join(timeout=120)
    at.run()
    assert errors(at) == []
    assert any(s.value.startswith("Done: 2 runs of 12 steps") for s in at.success)
    spec = [json.loads(c.proto.spec) for c in at.get("plotly_chart")][-1]  # yours: the last
    learned = trace(spec, "learned")
    x, y = np.array(learned["x"]), array(learned["y"])
    assert np.isfinite(y[x <= 8]).all() and np.isnan(y[x > 8]).all()
    assert np.isfinite(array(trace(spec, "rope")["y"])).all()
    assert any(n.startswith("learned: no positions past 8") for n in notes(spec))
    assert at.button(key=cmp_state.CMP_START).disabled  # nothing left to resume


@pytest.fixture(scope="module")
def record() -> RunRecord:
    tok = CharTokenizer.train(shakespeare_text())
    cfg = GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=8, vocab_size=tok.vocab_size)
    torch.manual_seed(0)
    model = LabModel("my run (step 2)", GPT(cfg).eval(), tok)
    metrics = [{"step": 1, "train_loss": 4.3}, {"step": 2, "train_loss": 4.1, "val_loss": 4.2}]
    return RunRecord(
        "my run",
        cfg,
        TrainConfig(learning_rate=0.01),
        "char",
        "shakespeare",
        metrics,
        [(2, "ROMEO:\nxyz")],
        model,
        0.01,
    )


def test_a_finished_run_is_added_and_flagged_for_differing_in_more_than_its_encoding(record):
    at = AppTest.from_file(page_path("compare"), default_timeout=TIMEOUT)
    state.add_finished_run(record, at.session_state)  # as the Training page keeps them
    at.session_state[cmp_state.CMP_IMPORTED] = ["my run"]
    at.run()
    assert errors(at) == []
    (warning,) = [w.value for w in at.warning]
    assert "differs in more than the encoding" in warning
    assert "n_layer: 2 (reference: 2)" not in warning
    assert "n_embd: 16 (reference: 64)" in warning and "learning_rate: 0.01" in warning
    spec = [json.loads(c.proto.spec) for c in at.get("plotly_chart")][-1]
    mine = trace(spec, "my run (learned)")
    x, y = np.array(mine["x"]), array(mine["y"])
    assert np.isfinite(y[x <= 8]).all() and np.isnan(y[x > 8]).all()


# ---------------------------------------------------------------- the pieces


def extrapolation(loss, limit=None, mode="windows", x=(4, 8, 16)) -> Extrapolation:
    return Extrapolation(mode, list(x), list(loss), [1] * len(x), 8, limit)


def entry(pos_emb, seed, loss, limit=None, imported=False) -> compare_entries.Entry:
    curve = [
        {"step": 10, "train_loss": 3.0 + seed},
        {"step": 20, "train_loss": 2.0, "val_loss": 2.5},
    ]
    return compare_entries.Entry(
        pos_emb,
        pos_emb,
        seed,
        curve,
        100,
        0.01,
        {"windows": extrapolation(loss, limit)},
        imported=imported,
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


# ---------------------------------------------------------------- projector and classroom fixes


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


def test_the_page_table_has_no_none_cells(alone):
    table = alone.table[0].value
    assert not table.isna().any().any() and not (table.astype(str) == "None").any().any()


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


def test_the_perplexity_switch_applies_to_every_view_of_the_page():
    at = run_page("compare")
    at.radio(key=cmp_state.CMP_METRIC).set_value("perplexity").run()
    assert errors(at) == []
    assert titled(at, "Training curves (perplexity)")["layout"]["yaxis"]["type"] == "log"
    extra = titled(at, "Held-out perplexity over non-overlapping windows")
    assert extra["layout"]["yaxis"]["type"] == "log"
    alibi = array(trace(extra, "alibi")["y"])
    assert (alibi > 1).all()  # perplexities, not losses (a loss here is about 2.3)
    assert "val ppl" in at.table[0].value.columns
    assert "in perplexity" in "\n".join(m.value for m in at.markdown)


def test_sample_cards_name_the_sampling_seed_actually_used(alone):
    results = json.loads(COMPARE_RESULTS.read_text())
    seed = results["sampling"]["seed"]
    cards = [c.value for c in alone.caption if "sampled with seed" in c.value]
    assert cards and all(f"sampled with seed {seed}" in c for c in cards)
    e = entry("rope", 2, [2.0, 1.9, 1.9])
    assert compare_results.sample_origin(e, 7) == "model seed 2, sampled with seed 7"
    assert compare_results.sample_origin(e, None) == "model seed 2, logged while it trained"


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

"""The training page's "Grow an induction head": the box fills in the recipe, the run trains on
repeated spans, and the forming section draws the gap and every head's scores over steps."""

import json

import altair as alt
import pyarrow as pa
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lab import charts
from lab.training import state as train_state
from minigpt.analysis.forming import FORMED, FormingPoint, FormingTrace
from minigpt.analysis.heads import HeadScores
from minigpt.training.repeats import LIVE_INDUCTION, RepeatData
from tests.apptest import TIMEOUT, TINY_TRAINING, errors, page_path
from tests.training_page import box, to_the_end


@pytest.fixture(autouse=True)
def _short_slices(short_slices):
    """Train in short slices (see conftest)."""


def test_ticking_the_box_fills_in_the_recipe():
    at = AppTest.from_file(page_path("training"), default_timeout=TIMEOUT).run()
    at.checkbox(key=train_state.TRAIN_INDUCTION).check().run()
    assert errors(at) == []
    S = at.session_state
    assert S[train_state.TRAIN_LAYERS] == LIVE_INDUCTION.model.n_layer
    assert S[train_state.TRAIN_CONTEXT] == LIVE_INDUCTION.model.block_size
    assert S[train_state.TRAIN_POS] == "rope"
    assert S[train_state.TRAIN_LR] == LIVE_INDUCTION.train.learning_rate
    assert S[train_state.TRAIN_STEPS] == LIVE_INDUCTION.train.max_iters


def trained_repeat_run() -> AppTest:
    """The training page after a tiny 12-step run with the induction recipe ticked."""
    at = AppTest.from_file(page_path("training"), default_timeout=TIMEOUT)
    for key, value in {**TINY_TRAINING, train_state.TRAIN_INDUCTION: True}.items():
        at.session_state[key] = value
    at.session_state[train_state.TRAIN_STEPS] = 12
    at.run()
    return to_the_end(at.button(key=train_state.TRAIN_START).click().run())


def test_a_repeat_run_draws_its_heads_forming():
    at = trained_repeat_run()
    assert errors(at) == []
    run = box(at).run
    assert isinstance(run.data, RepeatData) and run.forming is not None
    assert run.forming.steps  # recorded at least at the final evaluation
    titles = [
        json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "")
        for c in at.get("plotly_chart")
    ]
    assert {"Loss on a passage seen once vs twice", "Induction", "Previous-token"} <= set(titles)
    assert any(s.value == "An induction head forming" for s in at.subheader)


def known_trace(best_by_step: dict[int, float]) -> FormingTrace:
    """A trace whose best induction score at each step is known: 2 layers x 2 heads, the best in
    layer 1 head 0, the rest 0.1."""
    trace = FormingTrace()
    for step, best in best_by_step.items():
        scores = HeadScores(*(torch.full((2, 2), 0.1) for _ in range(4)))
        scores.induction[1, 0] = best
        trace.points.append(FormingPoint(step, scores, None))
    return trace


def marked_steps(spec: dict, rows: list[dict]) -> list[float]:
    """The steps of the rows the loss panel's rule layer draws (its own filter applied)."""
    rule = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "rule")
    wanted = rule["transform"][0]["filter"].split("=== ")[1].strip("'")
    return [r["step"] for r in rows if r["series"] == wanted]


def test_the_loss_chart_marks_the_step_a_head_first_passed_one_half():
    trace = known_trace({100: 0.05, 200: 0.3, 300: 0.62, 400: 0.4, 500: 0.9})
    formed = trace.first_step_above(FORMED)
    assert formed == 300  # the first step at or above 0.5, not the highest score's step
    rows = [{"step": s, "train_loss": 4.0 - s / 1000, "lr": 1e-3} for s in range(1, 501)]
    rows[249]["val_loss"] = rows[499]["val_loss"] = 2.0
    spec, data = charts.training_panels(rows, 500, formed)[0]
    assert marked_steps(spec, data) == [300]
    curves = spec["layer"][0]
    assert curves["mark"]["type"] == "line" and spec["encoding"]["x"]["scale"]["domain"] == [0, 500]
    assert marked_steps(spec, charts.training_panels(rows, 500, None)[0][1]) == []
    # the spec is the same with and without the marker, so the browser redraws in place
    assert charts.training_panels(rows, 500, None)[0][0] == spec
    # a valid Vega-Lite layer chart (altair checks it against the schema)
    alt.LayerChart.from_dict({**spec, "data": {"values": data}})


def test_the_training_page_marks_a_formed_head_on_its_loss_chart():
    at = trained_repeat_run()
    run = box(at).run
    run.forming.points[:] = known_trace({4: 0.2, 8: 0.55, 12: 0.7}).points  # known answer: 8
    at.run()
    assert errors(at) == []
    chart = at.get("vega_lite_chart")[0]
    spec = json.loads(chart.proto.spec)
    rows = pa.ipc.open_stream(chart.proto.data.data).read_all().to_pylist()
    assert spec["title"] == "Loss" and marked_steps(spec, rows) == [8.0]
    assert any("an induction head formed" in c.value for c in at.caption)

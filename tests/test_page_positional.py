"""The Positional page: runs alone and through the router for every positional scheme, answers
to its controls; and the chart builders behind it."""

import base64
import json

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lab import charts, state
from lab.engine.models import LabModel
from lab.positional import state as pos_state
from minigpt import GPT, GPTConfig
from minigpt.positional import alibi_bias, alibi_slopes, sinusoidal_table
from minigpt.tokenizers.tokenizer import CharTokenizer
from tests.apptest import TIMEOUT, errors, page_path, run_page, run_router

# ---------------------------------------------------------------- helpers


def figures(at: AppTest) -> dict[str, dict]:
    """Every chart on the page by its title (titles are unique on this page)."""
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return {spec["layout"]["title"]["text"]: spec for spec in specs}


def titled(at: AppTest, start: str) -> dict:
    (spec,) = [spec for title, spec in figures(at).items() if title.startswith(start)]
    return spec


def array(value) -> np.ndarray:
    """A plotly array from the JSON spec: plain lists, or plotly>=6's base64 {"bdata", ...}."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), value["dtype"])
        return flat.reshape([int(n) for n in str(value.get("shape", len(flat))).split(",")])
    return np.array(value, dtype=float)


def seeded(pos_emb: str, **preset) -> AppTest:
    """The page alone, on a small untrained model of one scheme put in the session."""
    tok = CharTokenizer.train("abcdefghijklmnopqrstuvwxyz ,.\n")
    torch.manual_seed(0)
    cfg = GPTConfig(
        n_layer=1, n_head=4, n_embd=32, block_size=24, vocab_size=tok.vocab_size, pos_emb=pos_emb
    )
    lab_model = LabModel(f"tiny {pos_emb}", GPT(cfg).eval(), tok)
    at = AppTest.from_file(page_path("positional"), default_timeout=TIMEOUT)
    state.add_session_model(lab_model.name, lab_model, session_override=at.session_state)
    for key, value in preset.items():
        at.session_state[key] = value
    return at.run()


# ---------------------------------------------------------------- the page


@pytest.fixture(scope="module")
def app() -> AppTest:
    return run_page("positional")


def test_runs_alone_and_draws_the_shipped_models_table(app):
    assert errors(app) == []
    assert app.title[0].value == "Positional embeddings"
    sinusoid = array(titled(app, "Sinusoidal table")["data"][0]["z"])
    n_pos, width = app.session_state[pos_state.POS_N], app.session_state[pos_state.POS_WIDTH]
    assert sinusoid.shape == (n_pos, width)
    np.testing.assert_allclose(sinusoid, sinusoidal_table(n_pos, width).numpy(), atol=1e-6)


def test_runs_through_the_router():
    at = run_router("positional")
    assert errors(at) == []
    assert at.title[0].value == "Positional embeddings"


def test_more_positions_and_less_width_redraw_the_tables(app):
    app.slider(key=pos_state.POS_N).set_value(32).run()
    app.slider(key=pos_state.POS_WIDTH).set_value(16).run()
    assert errors(app) == []
    assert array(titled(app, "Sinusoidal table")["data"][0]["z"]).shape == (32, 16)
    assert titled(app, "RoPE: the angle")["data"][0]["z"]["shape"].replace(" ", "") == "32,8"
    assert all(d < 16 for d in app.session_state[pos_state.POS_DIMS])  # dims beyond width dropped


def test_choosing_another_alibi_head_changes_its_bias(app):
    app.radio(key=pos_state.POS_ALIBI_HEAD).set_value(1).run()
    assert errors(app) == []
    spec = titled(app, "ALiBi bias of head 1")
    n_pos = app.session_state[pos_state.POS_N]
    expected = alibi_bias(len(app.radio(key=pos_state.POS_ALIBI_HEAD).options), n_pos)[1].numpy()
    shown = array(spec["data"][0]["z"])
    below = np.tril_indices(n_pos)
    np.testing.assert_allclose(shown[below], expected[below], atol=1e-6)


def test_waves_follow_the_chosen_dimensions(app):
    app.multiselect(key=pos_state.POS_DIMS).set_value([3]).run()
    assert errors(app) == []
    assert [t["name"] for t in titled(app, "Sinusoidal dimensions")["data"]] == ["dim 3"]
    app.multiselect(key=pos_state.POS_DIMS).set_value([]).run()
    assert errors(app) == [] and "Pick some dimensions" in " ".join(i.value for i in app.info)


@pytest.mark.parametrize("pos_emb", ["learned", "sinusoidal", "rope", "alibi", "none"])
def test_every_positional_scheme_runs_and_says_what_it_uses(pos_emb):
    at = seeded(pos_emb)
    assert errors(at) == []
    headers = " ".join(h.value for h in at.header)
    assert headers.count("← this model") == (0 if pos_emb == "none" else 1)
    learned = [t for t in figures(at) if t.startswith("tiny learned: wpe")]
    if pos_emb == "learned":
        assert learned and "24 rows" in " ".join(c.value for c in at.caption)
    else:
        assert not learned and "no learned position table" in " ".join(i.value for i in at.info)


def test_a_narrower_model_keeps_choices_in_range():
    at = seeded("alibi", **{pos_state.POS_ALIBI_HEAD: 7, pos_state.POS_DIMS: [0, 300]})
    assert errors(at) == []
    assert at.session_state[pos_state.POS_ALIBI_HEAD] == 0 and at.session_state[
        pos_state.POS_DIMS
    ] == [0]


# ---------------------------------------------------------------- chart builders


def test_position_heatmap_puts_position_zero_on_top_with_exact_hover():
    table = sinusoidal_table(10, 6).numpy()
    fig = charts.position_heatmap(table, "t")
    (trace,) = fig.data
    assert np.asarray(trace.z).shape == (10, 6) and fig.layout.yaxis.autorange == "reversed"
    assert "%{z:.6f}" in trace.hovertemplate


def test_similarity_heatmap_has_a_fixed_scale():
    fig = charts.similarity_heatmap(np.eye(5), "t")
    assert (fig.data[0].zmin, fig.data[0].zmax) == (-1, 1)


def test_waves_draw_one_curve_per_dimension():
    fig = charts.dimension_waves(sinusoidal_table(20, 8).numpy(), [0, 5], "t")
    assert [t.name for t in fig.data] == ["dim 0", "dim 5"] and len(fig.data[1].y) == 20


def test_rope_charts_wrap_angles_and_log_the_frequencies():
    angles = np.outer(np.arange(10), [1.0, 0.1])
    heat = charts.rope_angle_heatmap(angles)
    assert np.asarray(heat.data[0].z).max() < 2 * np.pi
    np.testing.assert_allclose(heat.data[0].customdata, angles)  # the unwrapped angle on hover
    assert charts.rope_frequency_chart(np.array([1.0, 0.1])).layout.yaxis.type == "log"


def test_alibi_charts_blank_the_future_and_draw_every_head():
    bias = alibi_bias(4, 6).numpy()
    heat = charts.alibi_heatmap(bias, 2, 0.1)
    z = np.asarray(heat.data[0].z, dtype=float)
    assert np.isnan(z[0, 5]) and z[5, 0] < 0
    lines = charts.alibi_lines(alibi_slopes(4).numpy(), 6, highlight=2)
    assert len(lines.data) == 4 and lines.data[2].line.width > lines.data[0].line.width


def test_row_norms_and_distance_charts():
    fig = charts.row_norms_chart(np.ones(5), 0.2)
    assert len(fig.data[0].y) == 5 and list(fig.data[1].y) == [0.2, 0.2]
    fig = charts.similarity_by_distance_chart({"a": np.ones(4), "b": np.zeros(4)})
    assert [t.name for t in fig.data] == ["a", "b"]


def test_alibi_heads_share_one_colour_scale():
    at = seeded("alibi", **{pos_state.POS_N: 16})
    n_pos, steepest = 16, float(alibi_slopes(4)[0])  # 4 heads: slopes 1/4, 1/16, 1/64, 1/256
    scales = []
    for head in range(4):
        at.radio(key=pos_state.POS_ALIBI_HEAD).set_value(head).run()
        assert errors(at) == []
        heat = titled(at, f"ALiBi bias of head {head}")["data"][0]
        scales.append((heat["zmin"], heat["zmax"]))
    # every head on the steepest head's scale: 0 down to its penalty at the farthest distance
    assert scales == [(pytest.approx(-steepest * (n_pos - 1)), 0.0)] * 4
    caption = " ".join(c.value for c in at.caption)
    assert "Every head is drawn on one colour scale" in caption
    assert f"from 0 down to {-steepest * (n_pos - 1):.3g}" in caption


def test_nearby_positions_compare_tables_of_the_same_width():
    # the sliders ask for 8 dims x 16 positions; the model's table is 24 positions x 32 dims
    at = seeded("learned", **{pos_state.POS_WIDTH: 8, pos_state.POS_N: 16})
    assert errors(at) == []
    learned, sinusoid = titled(at, "Are nearby positions alike?")["data"]
    assert learned["name"] == "learned (24 × 32)" and sinusoid["name"] == "sinusoidal (24 × 32)"
    table = sinusoidal_table(24, 32)
    unit = table / table.norm(dim=-1, keepdim=True)
    similarity = (unit @ unit.T).numpy()  # (24, 24)
    expected = [np.diagonal(similarity, d).mean() for d in range(24)]
    np.testing.assert_allclose(array(sinusoid["y"]), expected, atol=1e-5)
    assert len(array(learned["y"])) == len(array(sinusoid["y"])) == 24
    assert "24 positions × 32 dimensions, whatever the sliders" in " ".join(
        c.value for c in at.caption
    )

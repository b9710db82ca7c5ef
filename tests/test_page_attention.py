"""The Attention page: runs alone and through the router, answers to its controls, survives
hostile text; and the chart builders behind it."""

import base64
import json

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lab import charts, state
from lab.attention import state as attn_state
from lab.engine.models import LabModel
from minigpt import GPT, GPTConfig
from minigpt.tokenizers.tokenizer import CharTokenizer
from tests.apptest import TIMEOUT, errors, page_path, run_page, run_router

# ---------------------------------------------------------------- helpers


def figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def array(value) -> np.ndarray:
    """A plotly array from the JSON spec: plain lists, or plotly>=6's base64 {"bdata", ...}."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), value["dtype"])
        return flat.reshape([int(n) for n in str(value.get("shape", len(flat))).split(",")])
    return np.array(value, dtype=float)


def seeded(pos_emb: str, block_size: int = 24, **preset) -> AppTest:
    """The page alone, on a small untrained model of one positional scheme put in the session,
    with any other session state preset (as if chosen earlier, on another model)."""
    tok = CharTokenizer.train("abcdefghijklmnopqrstuvwxyz ,.\n")
    torch.manual_seed(0)
    cfg = GPTConfig(
        n_layer=2,
        n_head=2,
        n_embd=16,
        block_size=block_size,
        vocab_size=tok.vocab_size,
        pos_emb=pos_emb,
    )
    lab_model = LabModel(f"tiny {pos_emb}", GPT(cfg).eval(), tok)
    at = AppTest.from_file(page_path("attention"), default_timeout=TIMEOUT)
    state.add_session_model(lab_model.name, lab_model, session_override=at.session_state)
    for key, value in preset.items():
        at.session_state[key] = value
    return at.run()


def messages(at: AppTest) -> str:
    return " ".join(e.value for e in [*at.info, *at.warning, *at.error])


# ---------------------------------------------------------------- the page


@pytest.fixture(scope="module")
def app() -> AppTest:
    return run_page("attention")


def test_runs_alone_with_tokens_charts_and_table(app):
    assert errors(app) == []
    assert app.title[0].value == "Attention"
    single, grid, focus = figures(app)
    n = len(array(single["data"][0]["z"]))
    assert n > 10  # the default text, a repeated line
    assert array(focus["data"][0]["z"]).shape[1] == n  # focus: the last token sees them all
    table = app.dataframe[0].value
    assert list(table.columns) == [
        "layer",
        "head",
        "previous_token",
        "first_token",
        "duplicate_token",
        "induction",
    ]
    # the default text is a line typed twice: some head looks back at earlier copies
    assert table["duplicate_token"].notna().all()
    assert len(grid["data"]) == table["head"].max() + 1  # one panel per head of the layer
    assert len(focus["data"][0]["y"]) == len(table)  # one focus row per head of the model
    assert app.code[0].value.count(" ") == n - 1  # one label per token


def test_runs_through_the_router():
    at = run_router("attention")
    assert errors(at) == []
    assert at.title[0].value == "Attention"


def test_choosing_another_head_changes_the_heatmap(app):
    before = array(figures(app)[0]["data"][0]["z"])
    app.radio(key=attn_state.ATTN_HEAD).set_value(1).run()
    after_head = figures(app)[0]
    assert errors(app) == []
    assert "head 1" in after_head["layout"]["title"]["text"]
    assert not np.allclose(np.nan_to_num(before), np.nan_to_num(array(after_head["data"][0]["z"])))
    app.radio(key=attn_state.ATTN_LAYER).set_value(1).run()
    grid = figures(app)[1]
    assert all(trace["hovertemplate"].startswith("layer 1 ") for trace in grid["data"])


def test_picking_a_token_changes_the_focus_view(app):
    app.pills(key=attn_state.ATTN_FOCUS).set_value(5).run()
    focus = figures(app)[2]
    assert errors(app) == []
    assert array(focus["data"][0]["z"]).shape[1] == 6  # token 5 sees tokens 0..5
    assert "token 5" in focus["layout"]["title"]["text"]


def test_new_text_focuses_its_last_token(app):
    app.pills(key=attn_state.ATTN_FOCUS).set_value(2).run()
    app.text_area(key=attn_state.ATTN_TEXT).set_value("to be or not").run()
    assert errors(app) == []
    assert app.session_state[attn_state.ATTN_FOCUS] == len("to be or not") - 1


def test_a_table_row_picks_layer_and_head():
    def script():
        from types import SimpleNamespace

        import streamlit as st

        from lab.attention import state as attn_state

        st.session_state[attn_state.ATTN_TABLE] = SimpleNamespace(
            selection=SimpleNamespace(rows=[6])
        )
        attn_state.head_table_picker(4)()  # what st.dataframe's on_select calls

    at = AppTest.from_function(script, default_timeout=TIMEOUT).run()
    assert errors(at) == []
    assert (at.session_state[attn_state.ATTN_LAYER], at.session_state[attn_state.ATTN_HEAD]) == (
        1,
        2,
    )


HOSTILE = {
    "empty": ("", "Type some text"),
    "spaces": ("   \n ", None),
    "long": ("To be, or not to be: that is the question. " * 470, "only the first"),
    "emoji only": ("🙂🎭👩‍💻🏳️‍🌈", "vocabulary"),
    "control, RTL and ZWJ": (
        "\x00\x07\x1b[31mRomeo\u202e\u200fأهلا\u200d👩\u200d💻\ufeff\r\n\tJuliet\u2028",
        "left out",
    ),
}


@pytest.mark.parametrize("text, message", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_gives_a_message_not_an_exception(app, text, message):
    app.text_area(key=attn_state.ATTN_TEXT).set_value(text).run()
    assert errors(app) == []
    if message:
        assert message in messages(app)
    if figures(app):  # whatever was drawn is within the context
        assert len(array(figures(app)[0]["data"][0]["z"])) <= 64 * 4


def test_twenty_thousand_characters_are_cropped_to_the_context(app):
    app.text_area(key=attn_state.ATTN_TEXT).set_value("a" * 20_000).run()
    assert errors(app) == []
    block = app.session_state[attn_state.ATTN_FOCUS] + 1  # the last token drawn
    assert "20000 tokens" in messages(app) and f"first {block}" in messages(app)
    assert len(array(figures(app)[0]["data"][0]["z"])) == block


@pytest.mark.parametrize("pos_emb", ["learned", "sinusoidal", "rope", "alibi", "none"])
def test_every_positional_scheme_runs(pos_emb):
    at = seeded(pos_emb)
    assert errors(at) == []
    assert len(figures(at)) == 3
    at.text_area(key=attn_state.ATTN_TEXT).set_value("ab " * 40).run()  # longer than block_size 24
    assert errors(at) == [] and "first 24" in messages(at)


def test_a_smaller_model_resets_layer_and_head_into_range():
    at = seeded(
        "learned", **{attn_state.ATTN_LAYER: 3, attn_state.ATTN_HEAD: 3, attn_state.ATTN_FOCUS: 99}
    )
    assert errors(at) == []
    assert (at.session_state[attn_state.ATTN_LAYER], at.session_state[attn_state.ATTN_HEAD]) == (
        0,
        0,
    )
    assert at.session_state[attn_state.ATTN_FOCUS] == 23  # the last token of the cropped default


# ---------------------------------------------------------------- chart builders


LABELS = ["a", "<b>", "a", "\\u200f"]


def weights(T: int = 4, seed: int = 0) -> np.ndarray:
    w = np.tril(np.random.default_rng(seed).random((T, T)))
    return w / w.sum(-1, keepdims=True)


def test_attention_heatmap_labels_every_token_and_blanks_the_future():
    fig = charts.attention_heatmap(weights(), LABELS, "t")
    (trace,) = fig.data
    assert len(set(trace.x)) == 4  # repeated tokens stay separate columns
    assert list(fig.layout.xaxis.ticktext) == ["a", "&lt;b&gt;", "a", "\\u200f"]  # no markup
    assert np.isnan(trace.z[0][1]) and not np.isnan(trace.z[1][0])
    assert fig.layout.yaxis.autorange == "reversed"  # the first token at the top


def test_attention_grid_has_one_panel_per_head_and_one_colour_scale():
    maps = np.stack([weights(seed=s) for s in range(6)])
    fig = charts.attention_grid(maps, LABELS, layer=2, selected=1)
    assert len(fig.data) == 6
    assert {trace.coloraxis for trace in fig.data} == {"coloraxis"}
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0, 1)
    assert "head 1" in fig.layout.annotations[1].text and "<b>" in fig.layout.annotations[1].text
    assert fig.layout.coloraxis.showscale is False  # the single map beside it shows the scale


def test_token_focus_heatmap_rows_are_heads_and_columns_visible_tokens():
    focus = np.full((6, 3), 1 / 3)
    fig = charts.token_focus_heatmap(focus, LABELS, n_head=3, t=2)
    (trace,) = fig.data
    assert list(trace.y) == [f"layer {i // 3} head {i % 3}" for i in range(6)]
    assert len(trace.x) == 3 and trace.coloraxis == "coloraxis"


def test_markdown_literal_escapes_markup():
    assert charts.markdown_literal("*a*") == "\\*a\\*"
    assert charts.markdown_literal("\\u200f") == "\\\\u200f"
    assert charts.markdown_literal("␣é") == "␣é"
    assert charts.token_pill("*", 12) == "\\*₁₂"  # unique even when tokens repeat

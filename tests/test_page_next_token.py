"""The Next token page: runs alone and through the router, applies the sidebar's settings in
plain sight, steps one token at a time, hides until revealed, and survives hostile input.

Numbers the page shows are checked on cases known by construction: a uniform model (every
logit zero) scores log2 V bits per character, and top-k = 1 keeps exactly one token."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lab import state
from lab.charts import next_token as nt_charts
from lab.engine.models import LabModel
from lab.next_token import state as nt
from minigpt import GPT, GPTConfig
from minigpt.tokenizers.tokenizer import CharTokenizer, WordTokenizer
from tests.apptest import TIMEOUT, errors, page_path, run_page, run_router

# ---------------------------------------------------------------- helpers


def stages(at: AppTest) -> dict:
    (chart,) = at.get("plotly_chart")
    return json.loads(chart.proto.spec)


def array(value) -> np.ndarray:
    """A plotly array from the JSON spec: a plain list, or plotly>=6's base64 {"bdata", ...}."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), value["dtype"])
    return np.array(value, dtype=float)


def vega(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def messages(at: AppTest) -> str:
    return " ".join(e.value for e in [*at.info, *at.warning, *at.error])


def sequence_html(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith('<div style="line-height'))


CHARS = "abcdefghijklmnopqrstuvwxyz ,.\n"


def seeded(model: GPT, tokenizer, **preset) -> AppTest:
    """The page alone on a given model put in the session, with any state preset."""
    lab_model = LabModel("tiny", model.eval(), tokenizer)
    at = AppTest.from_file(page_path("next_token"), default_timeout=TIMEOUT)
    at.session_state[state._SESSION_MODELS] = {lab_model.name: lab_model}
    at.session_state[state.MODEL_CHOICE] = lab_model.name
    at.session_state[nt.PROMPT] = "to be or not to b"
    at.session_state[nt.TEXT] = "to be or not to be, that is the question."
    for key, value in preset.items():
        at.session_state[key] = value
    return at.run()


def tiny(pos_emb: str = "learned", vocab_size: int = len(CHARS), block_size: int = 16) -> GPT:
    torch.manual_seed(0)
    cfg = GPTConfig(
        n_layer=2,
        n_head=2,
        n_embd=16,
        block_size=block_size,
        vocab_size=vocab_size,
        pos_emb=pos_emb,
    )
    return GPT(cfg)


def uniform(vocab_size: int) -> GPT:
    model = tiny(vocab_size=vocab_size)
    with torch.no_grad():
        model.wte.weight.zero_()  # tied: every logit is zero, every prediction uniform
    return model


# ---------------------------------------------------------------- the page


@pytest.fixture(scope="module")
def app() -> AppTest:
    return run_page("next_token")


def test_runs_alone_with_stages_surprise_and_lens(app):
    assert errors(app) == []
    assert app.title[0].value == "Next token"
    fig = stages(app)
    assert len(fig["data"]) == 4  # raw, tempered, cut, renormalised
    assert all(len(trace["y"]) == 21 for trace in fig["data"])  # top 20 and "all the rest"
    assert "all the rest" in fig["layout"]["yaxis"]["ticktext"][-1]
    surprise, lens = vega(app)
    assert "vconcat" in surprise and "vconcat" in lens
    shown = metrics(app)
    assert {"Tokens kept", "Sampled token", "Its odds when drawn", "Bits per character"} <= set(
        shown
    )
    assert len(app.pills(key=nt.FORCE).options) == 20


def test_runs_through_the_router():
    at = run_router("next_token")
    assert errors(at) == []
    assert at.title[0].value == "Next token"


def test_each_panel_adds_up_to_one(app):
    for trace in stages(app)["data"]:
        assert math.isclose(array(trace["x"]).sum(), 1.0, abs_tol=1e-4)


def test_temperature_zero_keeps_only_the_argmax(app):
    app.session_state[state.TEMPERATURE] = 0.0
    app.run()
    assert errors(app) == []
    assert metrics(app)["Tokens kept"].startswith("1 of")
    assert metrics(app)["Its odds when drawn"] == "100.0%"
    top = stages(app)["layout"]["yaxis"]["ticktext"][0]
    assert metrics(app)["Sampled token"] == top  # the likeliest, first row
    app.session_state[state.TEMPERATURE] = state.DEFAULTS[state.TEMPERATURE]
    app.run()


def test_top_k_one_keeps_one_and_moving_it_changes_the_cut(app):
    app.session_state[state.TOP_K] = 1
    app.run()
    assert metrics(app)["Tokens kept"].startswith("1 of")
    cut = stages(app)["data"][2]["marker"]["color"]
    assert cut[0] == nt_charts.KEPT and set(cut[1:]) == {nt_charts.CUT}
    app.session_state[state.TOP_K] = 5
    app.session_state[state.TOP_P] = 1.0  # top-p off: the cut is top-k's alone
    app.run()
    assert metrics(app)["Tokens kept"].startswith("5 of")
    app.session_state[state.TOP_K] = 0
    app.session_state[state.TOP_P] = state.DEFAULTS[state.TOP_P]
    app.run()


def test_take_force_undo_and_start_again(app):
    before = sequence_html(app).count("underline")
    sampled = metrics(app)["Sampled token"]
    app.button(key=nt.TAKE).click().run()
    assert errors(app) == []
    html = sequence_html(app)
    assert html.count("underline") == before + 1
    assert f">{sampled}</span>" in html.split("underline")[-1]
    pills = app.pills(key=nt.FORCE)
    forced = pills.options[-1]  # the 20th likeliest
    token = next(i for i in range(1000) if pills.format_func(i) == forced)  # its id
    pills.set_value(token).run()
    assert errors(app) == []
    html = sequence_html(app)
    assert html.count("underline") == before + 2
    assert html.endswith(f">{forced}</span></div>")
    assert app.pills(key=nt.FORCE).value is None  # ready for the next click
    app.button(key=nt.UNDO).click().run()
    assert sequence_html(app).count("underline") == before + 1
    app.button(key=nt.RESTART).click().run()
    assert sequence_html(app).count("underline") == 0


def test_predict_then_reveal(app):
    app.toggle(key=nt.HIDE).set_value(True).run()
    assert errors(app) == []
    assert app.get("plotly_chart") == [] and "Guess" in messages(app)
    assert "Sampled token" not in metrics(app)
    app.button(key=nt.REVEAL).click().run()
    assert len(app.get("plotly_chart")) == 1
    app.button(key=nt.TAKE).click().run()  # a new position: hidden again
    assert app.get("plotly_chart") == []
    app.button(key=nt.RESTART).click().run()
    app.toggle(key=nt.HIDE).set_value(False).run()
    assert len(app.get("plotly_chart")) == 1


def test_a_new_prompt_starts_again(app):
    app.button(key=nt.TAKE).click().run()
    assert sequence_html(app).count("underline") == 1
    app.text_area(key=nt.PROMPT).set_value("JULIET:\nO Romeo").run()
    assert errors(app) == []
    assert sequence_html(app).count("underline") == 0


def test_the_example_picker_fills_the_surprise_text(app):
    app.radio(key=nt.EXAMPLE).set_value("An obvious continuation").run()
    assert app.text_area(key=nt.TEXT).value == nt.EXAMPLES["An obvious continuation"]
    obvious = float(metrics(app)["Bits per character"])
    app.radio(key=nt.EXAMPLE).set_value("A Shakespeare passage").run()
    assert errors(app) == []
    assert float(metrics(app)["Bits per character"]) != obvious


HOSTILE = {
    "empty": ("", "Type a prompt"),
    "spaces": ("   \n ", None),
    "emoji only": ("🙂🎭👩‍💻🏳️‍🌈", "vocabulary"),
    "control, RTL and ZWJ": (
        "\x00\x07\x1b[31mRomeo\u202e\u200fأهلا\u200d👩\r\n\tJuliet",
        "left out",
    ),
    "too long": ("To be, or not to be: that is the question. " * 100, "only the last 2,000"),
}


@pytest.mark.parametrize("text, message", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_prompts_give_a_sentence(app, text, message):
    app.text_area(key=nt.PROMPT).set_value(text).run()
    assert errors(app) == []
    if message:
        assert message in messages(app)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "Type a text"),
        ("a", "at least 2 tokens"),
        ("🙂🎭", "vocabulary"),
        ("abc " * 1000, "only the first 3,000"),
    ],
)
def test_hostile_surprise_texts_give_a_sentence(app, text, message):
    app.text_area(key=nt.TEXT).set_value(text).run()
    assert errors(app) == []
    assert message in messages(app)


def test_a_long_sequence_is_read_through_the_context_window():
    at = seeded(tiny(block_size=8), CharTokenizer.train(CHARS))
    assert errors(at) == []
    assert any("reads only the last 8" in c.value for c in at.caption)
    (_, lens) = vega(at)
    columns = lens["vconcat"][0]["layer"][0]["encoding"]["x"]["sort"]  # one per position
    assert len(columns) == 8  # the lens reads the window: its last 8 positions


def test_a_uniform_model_scores_log2_v_bits_per_character():
    tok = CharTokenizer.train(CHARS)
    at = seeded(uniform(tok.vocab_size), tok)
    assert errors(at) == []
    assert metrics(at)["Bits per character"] == f"{math.log2(tok.vocab_size):.2f}"
    raw = array(stages(at)["data"][0]["x"])[:20]
    assert np.allclose(raw, 1 / tok.vocab_size, atol=1e-6)


@pytest.mark.parametrize("pos_emb", ["learned", "sinusoidal", "rope", "alibi", "none"])
def test_every_positional_scheme_runs(pos_emb):
    at = seeded(tiny(pos_emb), CharTokenizer.train(CHARS))
    assert errors(at) == []
    assert len(at.get("plotly_chart")) == 1 and len(vega(at)) == 2
    at.button(key=nt.TAKE).click().run()
    assert errors(at) == []


def test_a_word_model_with_unknown_words_runs():
    tok = WordTokenizer.train("to be or not to be that is the question", 64)
    at = seeded(tiny(vocab_size=tok.vocab_size), tok, **{nt.PROMPT: "to be or xylophone"})
    assert errors(at) == []
    assert len(at.get("plotly_chart")) == 1


# ---------------------------------------------------------------- chart builders


def test_strip_layout_wraps_at_the_width_and_after_new_lines():
    assert nt_charts.strip_layout(["ab", "↵", "c"]) == [(0, 0, 2), (0, 2, 3), (1, 0, 1)]
    assert nt_charts.strip_layout(["aaa", "bb"], width=4) == [(0, 0, 3), (1, 0, 2)]


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


# ---------------------------------------------------------------- views (no Streamlit)


def test_stages_view_orders_cuts_and_sums_the_rest():
    from lab.next_token import views
    from minigpt.sampling import SamplingConfig

    tok = CharTokenizer.train(CHARS)  # 30 characters
    p = np.full(tok.vocab_size, 0.01)
    p[[5, 2, 9]] = [0.4, 0.2, 0.1]
    p /= p.sum()
    view = views.stages_view(
        np.log(p).astype(np.float32), SamplingConfig(temperature=1.0, top_k=2), 0, tok
    )
    assert list(view.ids[:3]) == [5, 2, 9] and len(view.ids) == views.N_SHOWN
    assert view.cut_by[:3] == ["", "", "top-k"] and view.n_kept == 2
    assert view.n_rest == tok.vocab_size - views.N_SHOWN
    assert math.isclose(view.raw.sum() + view.rest["raw"], 1.0, rel_tol=1e-5)
    assert view.rest["final"] == 0.0 and view.sampled in (5, 2)
    greedy = views.stages_view(np.log(p).astype(np.float32), SamplingConfig(temperature=0), 0, tok)
    assert greedy.sampled == 5 and greedy.sampled_rank == 0 and greedy.sampled_prob == 1.0
    nucleus = views.stages_view(
        np.log(p).astype(np.float32), SamplingConfig(temperature=1.0, top_p=0.5), 0, tok
    )
    assert nucleus.cut_by[:3] == ["", "", "top-p"]  # 0.4 / 0.97 < 0.5, adding 0.2 reaches it


def test_surprise_view_counts_the_characters_it_scored():
    from lab.next_token import views

    tok = CharTokenizer.train(CHARS)
    view = views.surprise_view(uniform(tok.vocab_size), tok, tok.encode("to be\nor"))
    assert view.n_chars == 7 and view.labels[2] == "␣" and view.labels[5] == "↵"
    assert math.isclose(view.bits_per_char, math.log2(tok.vocab_size), rel_tol=1e-5)


def test_a_bpe_model_runs_and_split_bytes_are_drawn_readably():
    from lab.next_token import views
    from minigpt.tokenizers.bpe import BPETokenizer

    tok = BPETokenizer.train("café crème brûlée, to be or not to be " * 20, 270, None)
    at = seeded(tiny(vocab_size=tok.vocab_size, block_size=32), tok, **{nt.PROMPT: "café"})
    assert errors(at) == []
    assert len(at.get("plotly_chart")) == 1 and len(vega(at)) == 2
    assert views.label(tok, 0xC3) == "\\xc3"  # half of é: written as an escape, never blank
    assert views.label(tok, ord(" ")) == "␣"


def test_on_a_uniform_model_every_shown_probability_is_one_over_v():
    from lab.next_token import views

    tok = CharTokenizer.train(CHARS)
    V = tok.vocab_size
    model = uniform(V)
    lens = views.lens_view(model, tok, tok.encode("to be or"), n_positions=5)
    assert lens.top_probs.shape == (2, 5, 5) and np.allclose(lens.top_probs, 1 / V)
    assert (lens.final_rank == 0).all()  # nothing is likelier than the pick when all are equal
    assert list(lens.positions) == [3, 4, 5, 6, 7] and lens.labels == ["b", "e", "␣", "o", "r"]
    at = seeded(model, tok)
    assert sequence_html(at).count(f'title="p = {1 / V:.3f}"') == len("to be or not to b") - 1


def test_the_step_limit_disables_take_with_a_sentence():
    tok = CharTokenizer.train(CHARS)
    at = seeded(tiny(), tok)
    key = at.session_state[state._SESSION_MODELS]["tiny"].key
    full = {"origin": (key, "to be or not to b"), "added": [1] * nt.MAX_ADDED}
    at.session_state[nt._SEQUENCE] = full
    at.run()
    assert errors(at) == []
    assert at.button(key=nt.TAKE).disabled and f"{nt.MAX_ADDED} tokens added" in messages(at)
    at.button(key=nt.UNDO).click().run()
    assert not at.button(key=nt.TAKE).disabled


def test_both_linked_views_are_valid_vega_lite():
    labels = ["a", "␣", "b", "↵", "c"]
    rng = np.random.default_rng(0)
    top = rng.dirichlet(np.ones(5), size=4)
    top = -np.sort(-top, axis=1)
    nats = np.array([0.1, 2.0, 0.5, 0.3])  # the second prediction (token 2) surprises most
    spec = nt_charts.surprise_chart(labels, nats, [labels] * 4, top).to_dict()  # validated
    assert '"value": [{"pos": 2}]' in json.dumps(spec)  # it is the token selected at first
    n_layer, n_pos = 3, 5
    lens = nt_charts.lens_chart(
        labels,
        np.arange(10, 15),
        [[[label] * 2 for label in labels] for _ in range(n_layer)],
        np.full((n_layer, n_pos, 2), 0.5),
        labels,
        np.zeros((n_layer, n_pos), dtype=int),
    )
    assert lens.to_dict()["vconcat"][0]["layer"][0]["encoding"]["x"]["sort"][0] == "a₁₀"

"""The Next token page: runs alone and through the router, applies the sidebar's settings in
plain sight, steps one token at a time, hides until revealed, and survives hostile input.

Numbers the page shows are checked on cases known by construction: a uniform model (every
logit zero) scores log2 V bits per character (tests/test_page_next_token_models.py), and
top-k = 1 keeps exactly one token."""

from __future__ import annotations

import math

import pytest
from streamlit.testing.v1 import AppTest

from lab import state
from lab.charts import next_token as nt_charts
from lab.next_token import state as nt
from tests.apptest import errors, run_page, run_router
from tests.next_token_page import (
    array,
    messages,
    metrics,
    sequence_html,
    stages,
    vega,
)


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

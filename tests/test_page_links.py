"""Links under AppTest, through the router: a URL sets the widgets once, widgets then write the
URL, hostile URLs open every page without a traceback, and the share box's link reproduces the
view it was made on."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from lab import links as page_links
from lab import state
from lab.attention import state as attn_state
from lab.catalog import CATALOG
from lab.training import state as train_state
from tests.apptest import APP, TIMEOUT, errors, page_path
from tests.test_links import HOSTILE


def opened(page: str, query: dict[str, str]) -> AppTest:
    """A fresh session whose first run is `page` opened with this query string."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(query)
    if page != CATALOG[0].name:
        at.switch_page(page_path(page))
    return at.run()


def url_of(at: AppTest) -> dict[str, str]:
    """The query string as the address bar holds it after the run."""
    return {
        name: values[-1] if isinstance(values, list) else values
        for name, values in at.query_params.items()
    }


LESSON = {
    "layer": "1",
    "head": "2",
    "text": "to be or not to be, to be or not",
    "temperature": "1.2",
    "top_k": "40",
    "seed": "7",
}


@pytest.fixture(scope="module")
def lesson() -> AppTest:
    return opened("attention", LESSON)


def test_a_link_sets_the_page_and_the_sidebar(lesson):
    at = lesson
    assert errors(at) == []
    assert at.radio(key=attn_state.ATTN_LAYER).value == 1
    assert at.radio(key=attn_state.ATTN_HEAD).value == 2
    assert at.text_area(key=attn_state.ATTN_TEXT).value == LESSON["text"]
    assert at.sidebar.slider(key=state.TEMPERATURE).value == pytest.approx(1.2)
    assert at.sidebar.slider(key=state.TOP_K).value == 40
    assert at.sidebar.number_input(key=state.SEED).value == 7
    assert not at.warning  # nothing in this link needed a note
    assert {k: v for k, v in url_of(at).items() if k != "focus"} == LESSON


def test_the_share_box_gives_a_link_that_reproduces_the_view(lesson):
    at = lesson
    at.button(key=page_links.SHARE_BUTTON).click().run()
    link = at.sidebar.code[-1].value
    parts = urlsplit(link)
    assert parts.path == "/attention"  # AppTest has no browser address: a relative link, noted
    assert any("address" in c.value for c in at.sidebar.caption)
    again = opened("attention", dict(parse_qsl(parts.query)))
    assert errors(again) == []
    for key in (attn_state.ATTN_LAYER, attn_state.ATTN_HEAD):
        assert again.radio(key=key).value == at.radio(key=key).value
    assert again.text_area(key=attn_state.ATTN_TEXT).value == LESSON["text"]
    assert again.session_state[attn_state.ATTN_FOCUS] == at.session_state[attn_state.ATTN_FOCUS]
    assert again.sidebar.slider(key=state.TEMPERATURE).value == pytest.approx(1.2)


def test_widgets_then_drive_the_url_and_the_link_is_not_read_again(lesson):
    at = lesson
    at.radio(key=attn_state.ATTN_HEAD).set_value(0).run()
    at.sidebar.slider(key=state.TEMPERATURE).set_value(1.5).run()
    assert at.radio(key=attn_state.ATTN_HEAD).value == 0  # the link's head 2 did not come back
    url = url_of(at)
    assert "head" not in url  # head 0 is the default: left out
    assert url["temperature"] == "1.5" and url["layer"] == "1"


def test_a_model_from_another_session_falls_back_with_a_note():
    at = opened("home", {"model": "My run (step 400)", "prompt": "JULIET:\n", "top_p": "7"})
    assert errors(at) == []
    assert at.sidebar.selectbox(key=state.MODEL_CHOICE).value == state.SHIPPED_MODEL
    notes = " ".join(w.value for w in at.warning)
    assert "another session" in notes and "top_p" in notes
    assert at.sidebar.slider(key=state.TOP_P).value == 1.0  # clamped into 0..1
    assert at.text_area(key=state.HOME_PROMPT).value == "JULIET:\n"
    assert "model" not in url_of(at)


@pytest.mark.parametrize("page", [p.name for p in CATALOG])
def test_a_plain_visit_writes_only_what_has_no_fixed_default(page):
    """Each declared default is what the page really shows: an untouched page has a clean URL."""
    at = opened(page, {})
    assert errors(at) == []
    fixed = {p.name for p in page_links.params(page) if p.has_default}
    assert not fixed & set(url_of(at)), url_of(at)


@pytest.mark.parametrize("page", [p.name for p in CATALOG])
def test_hostile_links_open_every_page_without_a_traceback(page):
    params = page_links.params(page)
    query = {p.name: HOSTILE[i % len(HOSTILE)] for i, p in enumerate(params)}
    at = opened(page, {**query, "bogus": "1", "layer; drop": "x"})
    assert errors(at) == [], query
    assert "bogus" not in url_of(at)


def test_training_link_ranges_are_the_forms():
    """A link can't put a number past a field's bounds (Streamlit would raise): the params
    clamp to exactly the widgets' min and max."""
    at = opened("training", {})
    by_key = {p.key: p for p in page_links.params("training")}
    checked = 0
    for widget in at.number_input:
        param = by_key.get(widget.key)
        if param is None or not widget.proto.has_max:
            continue
        assert param.parse(repr(widget.proto.max + 1)).value == widget.proto.max, widget.key
        assert param.parse(repr(widget.proto.min - 1)).value == widget.proto.min, widget.key
        checked += 1
    assert checked >= 10
    assert train_state.TRAIN_SEED in by_key
    sidebar = {p.key: p for p in state.SIDEBAR_LINK}
    for widget in at.sidebar.slider:
        param = sidebar[widget.key]
        assert param.parse(repr(widget.proto.max + 1)).value == widget.proto.max, widget.key
        assert param.parse(repr(widget.proto.min - 1)).value == widget.proto.min, widget.key


GOOD_LINKS = {
    "home": {"prompt": "JULIET:\n", "top_k": "5"},
    "tokenizers": {"vocab_size": "320", "step": "5", "presplit": "1", "text": "hello world"},
    "positional": {"positions": "64", "width": "32", "dims": "0,2", "head": "1"},
    "next_token": {"prompt": "JULIET:\nO ", "hide": "1", "example": "An obvious continuation"},
    "training": {"tokenizer": "bpe", "n_layer": "2", "max_iters": "300", "pos_emb": "rope"},
    "compare": {"reading": "position", "metric": "perplexity", "encodings": "rope,alibi"},
}


@pytest.mark.parametrize("page", list(GOOD_LINKS))
def test_every_page_takes_its_link_and_writes_it_back(page):
    at = opened(page, GOOD_LINKS[page])
    assert errors(at) == []
    assert not at.warning, [w.value for w in at.warning]
    by_name = {p.name: p for p in page_links.params(page)}
    for name, raw in GOOD_LINKS[page].items():
        param = by_name[name]
        assert at.session_state[param.key] == param.parse(raw), name
    url = url_of(at)
    assert {name: url.get(name) for name in GOOD_LINKS[page]} == GOOD_LINKS[page]


def test_a_link_naming_a_shipped_model_opens_with_it():
    """model= takes the names the sidebar offers every session (lab/state.py's SIDEBAR_LINK)."""
    at = opened("home", {"model": state.INDUCTION_MODEL})
    assert errors(at) == [] and not at.warning
    assert at.sidebar.selectbox(key=state.MODEL_CHOICE).value == state.INDUCTION_MODEL
    # The page uses it: the continuation is captioned with its name.
    assert any(c.value.startswith(f"{state.INDUCTION_MODEL} · ") for c in at.caption)
    assert url_of(at)["model"] == state.INDUCTION_MODEL  # and the address bar keeps it
    at = opened("attention", {"model": state.INDUCTION_MODEL, "layer": "2"})
    assert errors(at) == [] and not at.warning
    assert at.sidebar.selectbox(key=state.MODEL_CHOICE).value == state.INDUCTION_MODEL
    layer = at.radio(key=attn_state.ATTN_LAYER)
    assert layer.value == 2 and len(layer.options) == 3  # its three layers (the shipped has 4)


def test_every_home_card_links_to_its_page():
    """One card per lesson, in the catalog's order, each linking to its own page (home itself
    is reached from the sidebar), with the lesson beneath it."""
    at = opened("home", {})
    assert errors(at) == []
    cards = at.get("page_link")
    lessons = CATALOG[1:]
    # `page` is the URL path of the registered page whose script is the link's file.
    assert [(c.proto.page, c.proto.label) for c in cards] == [(p.name, p.title) for p in lessons]
    assert len({c.proto.page_script_hash for c in cards}) == len(lessons)
    assert all(c.proto.page_script_hash and not c.proto.external for c in cards)
    captions = [c.value for c in at.caption]
    assert all(captions.count(p.lesson) == 1 for p in lessons)

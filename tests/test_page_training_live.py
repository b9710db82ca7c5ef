"""The Live training page while a run trains: the heads' replay fills in and its slider stays
where it is put, every page of the lab says how far the run is and offers it as a model; and
the setup's parameter shares add up."""

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from lab import state
from lab.catalog import CATALOG
from lab.training import state as train_state
from tests.apptest import errors, page_path
from tests.training_page import (
    box,
    running,
    stop_training,
    tiny_page,
    trainer,
    training_in_router,
    wait_for,
)

# Every test here trains in short slices (see conftest's short_slices).
pytestmark = pytest.mark.usefixtures("short_slices")

# ---------------------------------------------------------------- while it trains


def heads_title(at: AppTest) -> str:
    titles = [
        json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "")
        for c in at.get("plotly_chart")
    ]
    return next(t for t in titles if t.startswith("Every head of layer"))


def test_the_heads_fill_in_while_the_run_trains_and_their_slider_stays_usable():
    at = tiny_page()  # 400 steps: a snapshot every 20
    at.button(key=train_state.TRAIN_START).click().run()
    wait_for(lambda: len(box(at).run.snapshots) >= 3)
    at.run()  # stands for the heads fragment's poll
    assert running(at) and errors(at) == []
    newest = box(at).run.snapshots[at.select_slider(key=train_state.TRAIN_REPLAY).value].step
    assert newest >= 40 and heads_title(at).startswith(f"Every head of layer 0 at step {newest:,}")
    at.select_slider(key=train_state.TRAIN_REPLAY).set_value(0).run()  # mid-run
    assert heads_title(at).startswith("Every head of layer 0 at step 0,")
    seen = len(box(at).run.snapshots)
    wait_for(lambda: len(box(at).run.snapshots) > seen)
    at.run()
    assert at.select_slider(key=train_state.TRAIN_REPLAY).value == 0  # it stays where put
    assert running(at)
    at.button(key=train_state.TRAIN_STOP).click().run()


LONG_RUN = 50_000  # steps: the run still trains when the last page has been visited


def status_step(at: AppTest) -> int:
    """The step the sidebar's "training: step N of M" line names (M checked against LONG_RUN)."""
    lines = [c.value for c in at.sidebar.caption if c.value.startswith("training:")]
    assert len(lines) == 1, lines
    found = re.fullmatch(r"training: step ([\d,]+) of ([\d,]+)", lines[0])
    assert found, lines[0]
    assert found[2] == f"{LONG_RUN:,}"
    return int(found[1].replace(",", ""))


def test_every_page_says_how_far_the_run_is_and_can_use_it_as_it_trains():
    at = training_in_router(steps=LONG_RUN)
    seen = 0
    for page in CATALOG:  # every page of the lab, the one that trains included
        at.switch_page(page_path(page.name)).run()
        assert errors(at) == [], page.name
        step = status_step(at)
        assert seen <= step < LONG_RUN, (page.name, seen, step)  # it follows the run
        seen = step
        options = at.sidebar.selectbox(key=state.MODEL_CHOICE).options
        assert any(o.startswith("Live run (step ") for o in options), (page.name, options)
    assert running(at)
    at.switch_page(page_path("attention")).run()
    choice = at.sidebar.selectbox(key=state.MODEL_CHOICE)
    live = next(o for o in choice.options if o.startswith("Live run (step "))
    choice.select(live).run()
    assert errors(at) == [] and at.get("plotly_chart")  # the attention page draws the live run
    live_model = trainer(at).live_model()
    assert live_model.key.startswith("live-") and not live_model.model.training
    assert live_model.model is not box(at).run.model  # a frozen copy, never the one training
    stop_training(at)
    at.run()
    assert any(c.value.startswith("training: stopped at step") for c in at.sidebar.caption)


def test_the_parameter_shares_add_up_to_the_whole_model():
    """Where the parameters are: each part's share of the parameter count, together 100%."""
    at = tiny_page()
    (where,) = [c.value for c in at.caption if c.value.startswith("Where the parameters are")]
    shares = [int(s) for s in re.findall(r"\((\d+)%\)", where)]
    assert shares and all(0 <= s <= 100 for s in shares)
    assert abs(sum(shares) - 100) <= len(shares)  # each share is rounded

"""The Live training page while a run trains: the heads' replay fills in and its slider stays
where it is put, every other page says how far the run is and can use it; and the setup's
parameter shares add up."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from lab import state
from lab.training import state as train_state
from tests.apptest import errors, run_router
from tests.training_page import (
    TINY_SETTINGS,
    box,
    running,
    tiny_page,
    trainer,
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


def test_every_page_says_how_far_the_run_is_and_can_use_it_as_it_trains():
    at = run_router()
    for key, value in TINY_SETTINGS.items():
        at.session_state[key] = value
    at.switch_page("../pages/training.py").run()
    at.button(key=train_state.TRAIN_START).click().run()
    wait_for(lambda: box(at).run.steps_done > 0)
    at.switch_page("../pages/attention.py").run()
    assert errors(at) == []
    assert any(c.value.startswith("training: step ") for c in at.sidebar.caption)
    choice = at.sidebar.selectbox(key=state.MODEL_CHOICE)
    live = next(o for o in choice.options if o.startswith("Live run (step "))
    choice.select(live).run()
    assert errors(at) == [] and at.get("plotly_chart")  # the attention page draws the live run
    live_model = trainer(at).live_model()
    assert live_model.key.startswith("live-") and not live_model.model.training
    assert live_model.model is not box(at).run.model  # a frozen copy, never the one training
    trainer(at).stop(box(at).run)
    trainer(at).trainer.join(timeout=60)
    at.run()
    assert any(c.value.startswith("training: stopped at step") for c in at.sidebar.caption)


def test_the_parameter_shares_add_up_to_the_whole_model():
    """Where the parameters are: each part's share of the parameter count, together 100%."""
    import re

    at = tiny_page()
    (where,) = [c.value for c in at.caption if c.value.startswith("Where the parameters are")]
    shares = [int(s) for s in re.findall(r"\((\d+)%\)", where)]
    assert shares and all(0 <= s <= 100 for s in shares)
    assert abs(sum(shares) - 100) <= len(shares)  # each share is rounded

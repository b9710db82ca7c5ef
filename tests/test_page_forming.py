"""The training page's "Grow an induction head": the box fills in the recipe, the run trains on
repeated spans, and the forming section draws the gap and every head's scores over steps."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from lab.training import state as train_state
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


def test_a_repeat_run_draws_its_heads_forming():
    at = AppTest.from_file(page_path("training"), default_timeout=TIMEOUT)
    for key, value in {**TINY_TRAINING, train_state.TRAIN_INDUCTION: True}.items():
        at.session_state[key] = value
    at.session_state[train_state.TRAIN_STEPS] = 12
    at.run()
    to_the_end(at.button(key=train_state.TRAIN_START).click().run())
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

"""The Next token page on the live run: picked in the sidebar while a run trains, the page reads
with the run's model (its name, its 16-token context, its vocabulary); once the run is stopped,
its bars are exactly that model's odds."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
import torch

from lab import sidebar, state
from lab.next_token import state as nt
from lab.next_token.views import N_SHOWN
from tests.apptest import errors, page_path
from tests.next_token_page import array, stages
from tests.test_run import TEXT
from tests.training_page import box, running, stop_training, trainer, training_in_router

pytestmark = pytest.mark.usefixtures("short_slices")

PROMPT = TEXT[:40]  # only characters the run's tokenizer (trained on TEXT) knows
CONTEXT = 16  # the tiny run's block_size (tests/apptest.py's TINY_TRAINING)


def rest_count(spec: dict) -> int:
    """How many tokens the "all the rest" bar stands for (its tick is the last row's label)."""
    (n,) = re.findall(r"all the rest \((\d+) tokens\)", spec["data"][0]["customdata"][-1])
    return int(n)


def test_the_next_token_page_draws_the_live_runs_odds():
    at = training_in_router(steps=50_000)
    at.session_state[nt.PROMPT] = PROMPT
    at.switch_page(page_path("next_token")).run()
    choice = at.sidebar.selectbox(key=state.MODEL_CHOICE)
    live = next(o for o in choice.options if o.startswith("Live run (step "))
    choice.select(live).run()
    assert errors(at) == [] and running(at)
    assert state.model_choice(at.session_state) == sidebar.LIVE_CHOICE
    # The page names the live run and reads its 16-token context (the shipped model's is 128).
    notes = [c.value for c in at.caption if "reads only the last" in c.value]
    assert len(notes) == 1 and re.search(
        rf"Live run 1 \(live, step [\d,]+\) reads only the last {CONTEXT} ", notes[0]
    ), notes
    assert f"reads its last {CONTEXT} tokens" in at.text_area(key=nt.PROMPT).help
    vocab = box(at).run.tokenizer.vocab_size  # TEXT's characters, not the shipped model's
    assert rest_count(stages(at)) == vocab - N_SHOWN

    stop_training(at)
    # A copy at the run's last step, which the page reuses (its key names that step).
    lab_model = trainer(at).live_model(now=time.monotonic() + 60)
    at.run()
    assert errors(at) == []
    assert any(f"(live, step {box(at).run.steps_done:,})" in c.value for c in at.caption)
    ids = lab_model.tokenizer.encode(PROMPT)[-CONTEXT:]
    with torch.no_grad():
        logits, _ = lab_model.model(torch.tensor([ids]))
    expected = torch.softmax(logits[0, -1], dim=-1).numpy()
    top = np.sort(expected)[::-1][:N_SHOWN]
    spec = stages(at)
    assert np.allclose(array(spec["data"][0]["x"])[:N_SHOWN], top, atol=1e-6)
    assert rest_count(spec) == len(expected) - N_SHOWN

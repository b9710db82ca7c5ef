"""The Live training page under AppTest: it runs alone and through the router, refuses bad
settings in words, trains a tiny run that grows from one run() to the next, stops, resumes,
resets, diverges cleanly, keeps its runs, hands its model to the other pages, queues behind
the trainer cap, and takes checkpoints back. tests/test_page_training_live.py follows a run
from the other pages while it trains."""

import json

import pytest
import torch
from streamlit.testing.v1 import AppTest

from lab import cache, state
from lab.training import state as train_state
from tests.apptest import TIMEOUT, errors, page_path, run_router
from tests.conftest import pickle_checkpoint, tiny_checkpoint
from tests.test_run import TEXT
from tests.training_page import (
    box,
    messages,
    metric,
    running,
    tiny_page,
    to_the_end,
    trainer,
    wait_for,
)

# Every test here trains in short slices (see conftest's short_slices).
pytestmark = pytest.mark.usefixtures("short_slices")

# ---------------------------------------------------------------- opening


def test_runs_alone_on_shakespeare_with_the_default_preset():
    at = AppTest.from_file(page_path("training"), default_timeout=TIMEOUT).run()
    assert errors(at) == [] and at.title[0].value == "Live training"
    assert metric(at, "Tokens in the corpus") == f"{len(cache.default_corpus()):,}"
    assert int(metric(at, "Parameters").replace(",", "")) > 100_000
    assert metric(at, "Time per step").endswith("ms")
    assert "mlp" in at.caption[0].value and "attention" in at.caption[0].value
    assert not at.button(key=train_state.TRAIN_START).disabled
    assert "Press **Start**" in messages(at)


def test_runs_through_the_router():
    at = run_router()
    at.session_state[train_state.TRAIN_SOURCE] = "Paste text"
    at.session_state[train_state.TRAIN_PASTE] = TEXT
    at.switch_page("../pages/training.py").run()
    assert errors(at) == [] and at.title[0].value == "Live training"


# ---------------------------------------------------------------- bad settings, in words


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({train_state.TRAIN_PASTE: ""}, "the text is empty"),
        ({train_state.TRAIN_WIDTH: 18, train_state.TRAIN_HEADS: 4}, "divide evenly"),
        ({train_state.TRAIN_CONTEXT: 0}, "Context length (block_size) must be at least 1"),
        ({train_state.TRAIN_CONTEXT: 100_000}, "at most 1024"),
        ({train_state.TRAIN_LR: 0.0}, "Learning rate (learning_rate) must be a positive number"),
        ({train_state.TRAIN_LR: 1000.0}, "far beyond"),
        ({train_state.TRAIN_STEPS: 0}, "Steps (max_iters) must be at least 1"),
        ({train_state.TRAIN_TOKENIZER: "bpe", train_state.TRAIN_VOCAB: 100}, "between 256"),
    ],
)
def test_impossible_settings_are_refused_before_anything_runs(settings, words):
    at = tiny_page(**settings)
    assert errors(at) == []
    assert "Can't start" in at.error[0].value and words in at.error[0].value
    assert at.button(key=train_state.TRAIN_START).disabled


def test_a_vocabulary_the_text_cannot_fill_is_shrunk_out_loud():
    # TEXT repeats three lines: its words run out long before 2,000 of them.
    at = tiny_page(**{train_state.TRAIN_TOKENIZER: "word", train_state.TRAIN_VOCAB: 2000})
    assert errors(at) == []
    assert "You asked for a vocabulary of 2,000" in messages(at)
    assert not at.button(key=train_state.TRAIN_START).disabled


def test_an_upload_that_is_not_text_is_refused():
    at = tiny_page(**{train_state.TRAIN_SOURCE: "Upload a file"})
    assert "choose a text file" in at.error[0].value
    at.file_uploader(key=train_state.TRAIN_UPLOAD).set_value(
        ("x.bin", b"\x00\x01\x02" * 50, "application/octet-stream")
    ).run()
    assert errors(at) == [] and "binary" in at.error[0].value


# ---------------------------------------------------------------- training


def test_a_run_grows_stops_resumes_and_resets():
    at = tiny_page()
    at.button(key=train_state.TRAIN_START).click().run()
    assert errors(at) == []
    assert running(at) and "Training Live run 1" in messages(at)
    wait_for(lambda: box(at).run.steps_done > 0)
    at.run()
    first = box(at).run.steps_done
    wait_for(lambda: box(at).run.steps_done > first)  # it trains between two page draws
    at.run()
    second = box(at).run.steps_done
    assert 0 < first < second < 400
    titles = [json.loads(chart.proto.spec)["title"] for chart in at.get("vega_lite_chart")]
    assert titles == ["Loss", "Perplexity", "Learning rate"]
    assert at.get("vega_lite_chart")[0].proto.data  # the curve, as Arrow bytes
    assert metric(at, "Step").endswith(" / 400")
    assert metric(at, "ETA") != "—"  # training, at a measured pace
    assert (
        at.button(key=train_state.TRAIN_START).disabled
        and not at.button(key=train_state.TRAIN_STOP).disabled
    )

    at.button(key=train_state.TRAIN_STOP).click()
    at.run()
    trainer(at).trainer.join(timeout=60)  # the slice in progress ends
    at.run()
    stopped = box(at).run.steps_done
    assert not running(at) and "stopped at step" in messages(at)
    assert metric(at, "ETA") == "—"  # a stopped run is not on its way anywhere
    at.run()
    assert box(at).run.steps_done == stopped  # stopped means stopped
    runs = state.finished_runs(at.session_state)
    assert [r.name for r in runs] == ["Live run 1"] and runs[0].metrics[-1]["step"] == stopped
    assert not cache.trainer_slots().holds(trainer(at).trainer.owner)  # the slot went back

    assert at.button(key=train_state.TRAIN_START).label == "Resume"
    at.button(key=train_state.TRAIN_START).click().run()
    wait_for(lambda: box(at).run.steps_done > stopped)
    at.button(key=train_state.TRAIN_STOP).click().run()

    at.button(key=train_state.TRAIN_RESET).click().run()
    assert box(at).run is None and at.button(key=train_state.TRAIN_START).label == "Start"
    assert len(state.finished_runs(at.session_state)) == 1  # the compare page still has it


def test_a_finished_run_fills_every_section():
    at = tiny_page(**{train_state.TRAIN_STEPS: 12})
    to_the_end(at.button(key=train_state.TRAIN_START).click().run())
    assert errors(at) == []
    run = box(at).run
    assert run.done and run.steps_done == 12 and not running(at)
    assert "finished: 12 steps" in messages(at)
    assert at.button(key=train_state.TRAIN_START).disabled
    assert any("step 12" in c.value for c in at.code)  # the sample log
    titles = [
        json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "")
        for c in at.get("plotly_chart")
    ]
    assert any(t.startswith("Every head of layer 0 at step 12") for t in titles)
    assert at.select_slider(key=train_state.TRAIN_REPLAY).value == len(run.snapshots) - 1
    at.select_slider(key=train_state.TRAIN_REPLAY).set_value(0).run()
    titles = [
        json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "")
        for c in at.get("plotly_chart")
    ]
    assert any(t.startswith("Every head of layer 0 at step 0") for t in titles)
    assert state.finished_runs(at.session_state)[-1].metrics[-1]["step"] == 12
    assert len(at.get("download_button")) == 2


def test_using_the_model_hands_a_frozen_copy_to_the_sidebar():
    at = tiny_page(**{train_state.TRAIN_STEPS: 6})
    to_the_end(at.button(key=train_state.TRAIN_START).click().run())
    at.button(key=train_state.TRAIN_USE).click().run()
    assert errors(at) == []
    name = "Live run 1 (step 6)"
    assert at.session_state[state.MODEL_CHOICE] == name
    used = state.session_models(at.session_state)[name]
    assert used.model is not box(at).run.model and not used.model.training
    assert name in messages(at)


def test_a_diverging_run_stops_with_a_message():
    at = tiny_page(**{train_state.TRAIN_LR: 10.0, train_state.TRAIN_WARMUP: 0})
    to_the_end(at.button(key=train_state.TRAIN_START).click().run())
    assert errors(at) == []
    run = box(at).run
    assert run.failure and not running(at)
    assert "diverged" in at.error[0].value and "last good weights" in at.error[0].value
    assert all(torch.isfinite(p).all() for p in run.model.parameters())
    assert state.finished_runs(at.session_state)[-1].model is not None  # still usable


def test_another_session_never_sees_the_run():
    mine = tiny_page()
    mine.button(key=train_state.TRAIN_START).click().run()
    theirs = tiny_page()
    assert errors(theirs) == [] and "Press **Start**" in messages(theirs)
    assert train_state.training_box_in(theirs.session_state).run is None
    mine.button(key=train_state.TRAIN_STOP).click().run()


def test_a_session_past_the_cap_waits_in_a_queue():
    slots = cache.trainer_slots()
    others = [f"other-{i}" for i in range(slots.size)]
    try:
        assert all(slots.acquire(o) for o in others)
        at = tiny_page()
        at.button(key=train_state.TRAIN_START).click().run()
        assert errors(at) == []
        wait_for(lambda: trainer(at).trainer.waiting > 0)
        at.run()
        assert (
            f"{slots.size} other sessions are training; yours starts when one finishes"
            in at.warning[0].value
        )
        assert box(at).run.steps_done == 0
        slots.release(others[0])
        wait_for(lambda: box(at).run.steps_done > 0)
        at.run()
        assert not at.warning
        at.button(key=train_state.TRAIN_STOP).click().run()
    finally:
        for o in others:
            slots.release(o)


# ---------------------------------------------------------------- checkpoints


@pytest.mark.parametrize(
    ("make", "words"),
    [(lambda: tiny_checkpoint()[:300], "truncated"), (pickle_checkpoint, "pickle")],
)
def test_bad_checkpoint_uploads_are_refused(make, words):
    at = tiny_page()
    at.file_uploader(key=train_state.TRAIN_CKPT).set_value(
        ("bad.safetensors", make(), "application/octet-stream")
    ).run()
    assert errors(at) == []
    assert "Can't use this file" in at.error[0].value and words in at.error[0].value


def test_an_uploaded_checkpoint_can_be_continued_or_explored():
    at = tiny_page()
    at.file_uploader(key=train_state.TRAIN_CKPT).set_value(
        ("mine.safetensors", tiny_checkpoint(), "application/octet-stream")
    ).run()
    assert errors(at) == [] and "trained 10 of 10 steps" in " ".join(c.value for c in at.caption)
    at.button(key=train_state.TRAIN_EXPLORE).click().run()
    assert at.session_state[state.MODEL_CHOICE] == "Uploaded: mine.safetensors"
    at.number_input(key=train_state.TRAIN_CKPT_STEPS).set_value(14).run()
    at.button(key=train_state.TRAIN_CONTINUE).click().run()
    assert errors(at) == [] and box(at).run.steps_done == 10 and box(at).run.max_iters == 14
    to_the_end(at.button(key=train_state.TRAIN_START).click().run())
    assert box(at).run.steps_done == 14 and "finished" in messages(at)

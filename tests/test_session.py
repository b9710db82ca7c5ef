"""One session's training as every page sees it (lab/engine/session.py): one job at a time, a
status line for the sidebar, and a live model that is a frozen copy keyed by its step."""

from __future__ import annotations

import pytest

from lab.engine import background
from lab.engine.liverun import LiveRun
from lab.engine.runspec import RunSpec
from lab.engine.session import SessionTrainer
from lab.engine.slots import TrainerSlots
from minigpt.config import GPTConfig
from minigpt.training.trainer import TrainConfig
from tests.test_run import TEXT

SPEC = RunSpec(
    "test",
    "char",
    None,
    GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=16, dropout=0.0),
    TrainConfig(batch_size=4, max_iters=8, eval_interval=4, eval_iters=2, warmup_iters=1),
)


@pytest.fixture(autouse=True)
def _short(monkeypatch):
    monkeypatch.setattr(background, "SLICE_SECONDS", 0.01)
    monkeypatch.setattr(background, "WAIT_SECONDS", 0.01)


def run(max_iters: int = 8) -> LiveRun:
    spec = RunSpec(
        SPEC.corpus_key, "char", None, SPEC.model, SPEC.train.replace(max_iters=max_iters)
    )
    return LiveRun(spec, TEXT)


def test_a_job_trains_to_its_end_and_the_status_says_so():
    holder = SessionTrainer(TrainerSlots(1))
    assert holder.status() is None and holder.live_model() is None
    work = run()
    holder.start("Live run 1", work)
    assert holder.trains(work)
    holder.trainer.join(timeout=60)
    assert work.done and not holder.trains(work)
    assert holder.status() == "training: finished, 8 steps"
    assert holder.ended() is False  # no page polled, so no redraw is owed


def test_a_stopped_job_says_where_it_stopped():
    holder = SessionTrainer(TrainerSlots(1))
    work = run(100_000)
    holder.start("Live run 1", work)
    holder.polling = True  # a page drew with polling on
    holder.stop(work)
    holder.trainer.join(timeout=60)
    done = work.steps_done
    assert holder.status() == f"training: stopped at step {done:,} of 100,000"
    assert holder.ended() and not holder.ended()  # one full redraw, once


def test_a_queued_job_says_it_waits():
    slots = TrainerSlots(1)
    assert slots.acquire("someone else")
    holder = SessionTrainer(slots)
    work = run()
    holder.start("Live run 1", work)
    try:
        for _ in range(500):
            if holder.trainer.waiting:
                break
            holder.trainer.join(timeout=0.01)
        assert holder.status() == "training: queued behind 1 other session(s)"
        assert work.steps_done == 0
    finally:
        holder.close()


def test_starting_another_job_pauses_the_first():
    holder = SessionTrainer(TrainerSlots(1))
    first, second = run(100_000), run(4)
    holder.start("Live run 1", first)
    assert holder.start("Comparison", second) == "Live run 1"
    assert holder.trains(second) and not holder.trains(first)
    holder.trainer.join(timeout=60)
    assert second.done and not first.done
    holder.forget(second)
    assert holder.job is None and holder.status() is None


def test_the_live_model_is_a_frozen_copy_keyed_by_its_step():
    holder = SessionTrainer(TrainerSlots(1))
    work = run(6)
    holder.start("Live run 1", work)
    holder.trainer.join(timeout=60)
    live = holder.live_model(now=0.0)
    assert live.key.endswith("-6") and "step 6" in live.name
    assert live.model is not work.model and not live.model.training
    assert not any(p.requires_grad for p in live.model.parameters())
    assert holder.live_model(now=1.0) is live  # same step: the same copy, the same cache key

    work.trainer.config = work.trainer.config.replace(max_iters=9)  # train three more steps
    holder.start("Live run 1", work)
    holder.trainer.join(timeout=60)
    assert holder.live_model(now=1.0) is live  # kept for a few seconds...
    newer = holder.live_model(now=100.0)  # ...then copied again, under a new key
    assert newer.key.endswith("-9") and newer.key != live.key

"""The run-time estimate counts what a live run really does (lab/engine/estimate.py): as many
evaluations, samples and snapshots as a run of that schedule makes, each at its measured cost."""

from __future__ import annotations

import pytest

from lab.engine.estimate import (
    RunCosts,
    evaluations,
    log_schedule,
    logs,
    page_seconds,
    run_seconds,
)
from lab.engine.liverun import LiveRun
from lab.engine.logs import LOG_SHARE, MIN_LOG_TOKENS, log_every, log_tokens
from lab.engine.runspec import SAMPLE_TOKENS, RunSpec
from minigpt.sampling import SamplingConfig
from minigpt.training.trainer import TrainConfig
from tests.test_run import TEXT, TINY

QUIET = SamplingConfig(max_new_tokens=2)


@pytest.mark.parametrize(("max_iters", "eval_interval"), [(12, 4), (13, 4), (5, 10), (41, 1)])
def test_the_counts_match_what_a_run_logs(max_iters, eval_interval):
    train = TrainConfig(
        batch_size=2, max_iters=max_iters, eval_interval=eval_interval, eval_iters=1
    )
    run = LiveRun(RunSpec("test", "char", None, TINY, train), TEXT)
    while not run.done:
        run.advance(10.0, QUIET)
    every = log_every(max_iters)
    assert run.sample_every == every
    assert len(run.trainer.evals) == evaluations(train)
    assert len(run.samples) == len(run.snapshots) == logs(max_iters, every)


def test_a_run_logs_on_the_schedule_it_is_given():
    train = TrainConfig(batch_size=2, max_iters=13, eval_interval=100, eval_iters=1)
    run = LiveRun(RunSpec("test", "char", None, TINY, train), TEXT)
    run.set_log_every(5)
    while not run.done:
        run.advance(10.0, QUIET)
    assert [s for s, _ in run.samples] == [0, 5, 10, 13]
    assert len(run.samples) == logs(13, 5)
    prompt = len(run.prompt_ids)
    assert all(len(run.tokenizer.encode(text)) == prompt + 2 for _, text in run.samples)


def test_what_is_left_after_some_steps():
    train = TrainConfig(max_iters=250, eval_interval=100)
    assert [evaluations(train, done) for done in (0, 99, 100, 249, 250)] == [3, 3, 2, 1, 0]
    assert [logs(40, 2, done) for done in (0, 1, 2, 40)] == [21, 20, 19, 0]


def test_run_seconds_adds_every_kind_of_work():
    costs = RunCosts(step=1.0, eval_batch=10.0, sample_token=0.001, snapshot=100.0)
    train = TrainConfig(max_iters=40, eval_interval=20, eval_iters=3)
    # 40 steps; 2 evaluations of 3 batches; 21 logs of a 100-token sample and a snapshot
    assert run_seconds(costs, train, every=2, sample_tokens=100) == pytest.approx(
        40 + 2 * 3 * 10 + 21 * (0.1 + 100)
    )


def test_the_first_steps_warm_up_and_the_page_are_counted_once():
    costs = RunCosts(step=0.1, eval_batch=1.0, sample_token=0.0, snapshot=0.0, warmup=0.5)
    train = TrainConfig(max_iters=10, eval_interval=10, eval_iters=2)
    # 10 steps, the first one's warm-up, one evaluation of 2 batches, one poll interval of page
    assert run_seconds(costs, train, 5, 0, page=page_seconds(2.0)) == pytest.approx(
        10 * 0.1 + 0.5 + 2 * 1.0 + 2.0
    )
    # A run that has started has paid its warm-up: 5 steps and the evaluation at 10 are left.
    assert run_seconds(costs, train, 5, 0, done=5) == pytest.approx(5 * 0.1 + 2 * 1.0)
    assert page_seconds(2.0) == 2.0 and page_seconds(5.0) == 5.0


def test_a_known_run_adds_up_exactly():
    # lab-live's 400-step benchmark run at 0.1 s a step, 0.15 s an evaluation batch, 2 ms a
    # sample token and 20 ms a snapshot, with 57-token samples: one log costs 0.134 s, and 5% of
    # 40 s of steps allows one every 27 steps (not the 20 of "about 20 logs").
    costs = RunCosts(step=0.1, eval_batch=0.15, sample_token=0.002, snapshot=0.02)
    train = TrainConfig(max_iters=400, eval_interval=100, eval_iters=20)
    every = log_schedule(costs, train.max_iters, 57)
    assert every == 27  # 400 * 0.134 / (0.05 * 400 * 0.1) = 26.8
    assert logs(400, every) == 16  # steps 0, 27, ..., 378 and the last, 400
    seconds = run_seconds(costs, train, every, 57)
    assert seconds == pytest.approx(400 * 0.1 + 4 * 20 * 0.15 + 16 * (57 * 0.002 + 0.02))
    # Within the share, but for the logs at the start and the end that every run makes.
    assert (16 - 2) * costs.log(57) <= LOG_SHARE * 400 * costs.step
    # From step 200: 200 steps, the evaluations at 300 and 400, the logs at 216, ..., 378, 400.
    assert run_seconds(costs, train, every, 57, done=200) == pytest.approx(
        200 * 0.1 + 2 * 20 * 0.15 + 8 * 0.134
    )


def test_logs_take_at_most_their_share_of_the_training_time():
    assert log_every(1500) == 75  # about 20 logs when the costs are not known
    assert log_every(1500, step_seconds=0.1, log_seconds=0.2) == 75  # 40 would fit in 5%
    assert log_every(150, step_seconds=0.1, log_seconds=0.2) == 30  # 1 s (> 5% of 15 s) / 0.2
    assert log_every(400, step_seconds=0.001, log_seconds=0.01) == 20  # a tiny model: 1 s
    assert log_every(10, step_seconds=0.1, log_seconds=10.0) == 100  # only the first and last
    assert logs(10, 100) == 2


def test_logged_samples_fit_in_the_context():
    assert log_tokens(200, 64, 7) == 57  # lab-live: the prompt "ROMEO:\n" and what fits after it
    assert log_tokens(20, 64, 7) == 20  # fewer when fewer are asked for
    assert log_tokens(500, 1024, 7) == SAMPLE_TOKENS  # never longer than the log's own cap
    assert log_tokens(200, 16, 7) == MIN_LOG_TOKENS  # a tiny context still shows some text

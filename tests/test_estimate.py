"""The run-time estimate counts what a live run really does (lab/engine/estimate.py): as many
evaluations, samples and snapshots as a run of that schedule makes, each at its measured cost."""

from __future__ import annotations

import pytest

from lab.engine.estimate import RunCosts, evaluations, logs, run_seconds
from lab.engine.liverun import LiveRun, log_every
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
    longest = run_seconds(costs, train, every=2, sample_tokens=10 * SAMPLE_TOKENS)
    assert longest == pytest.approx(40 + 60 + 21 * (SAMPLE_TOKENS * 0.001 + 100))  # capped

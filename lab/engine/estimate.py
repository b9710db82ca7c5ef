"""How long a run will take, counted honestly: steps, and everything else a live run does.

Timing three bare training steps and multiplying by the step count said 1:32 for a run that took
2:55: a live run also evaluates (eval_iters batches of each split every eval_interval steps),
writes samples and snapshots its heads every few steps. `measure_costs` times one of each on a
throwaway copy of the run, and `run_seconds` adds them up in the run's own schedule. The same
costs set that schedule (`log_schedule`): the run logs as often as the estimate counted.

In the browser the same arithmetic said 0.41-0.92 of the real time. Three things it left out:
the run's first step (a fresh model's first step pays a warm-up the median of later ones hid);
the page around the run (the Start click's rerun before the first step, and the poll that
notices the end: about one poll interval in all, `page_seconds`); and the load: four steps in a
fraction of a second caught one moment of a shared machine, kept for the server's life. Steps are
now timed over at least MIN_TIMED_SECONDS, their mean (a busy moment inside the window counts
as much as the run will feel it), and the caller keeps the costs only briefly (lab/cache).
"""

from __future__ import annotations

import contextlib
import copy
import statistics
import threading
import time
from dataclasses import dataclass

from lab.engine.background import lower_priority
from lab.engine.liverun import LiveRun
from lab.engine.logs import log_every
from lab.engine.turns import TURNS
from minigpt.sampling import SamplingConfig
from minigpt.training.trainer import TrainConfig, Trainer, TrainingDiverged

STEPS_TIMED = 4  # at least this many steps timed after the first one ...
MIN_TIMED_SECONDS = 1.5  # ... and for at least this long: their mean is the step's cost


@dataclass(frozen=True)
class RunCosts:
    """Seconds each kind of work takes on this server for one run's shape."""

    step: float  # one training step
    eval_batch: float  # one evaluation batch of each split (an evaluation is eval_iters of them)
    sample_token: float  # one token of a logged sample
    snapshot: float  # one snapshot of the heads on the probe text
    warmup: float = 0.0  # what a run's first step costs more than the others, paid once

    def log(self, sample_tokens: int) -> float:
        """One log: a sample of sample_tokens new tokens and a snapshot of the heads."""
        return self.sample_token * sample_tokens + self.snapshot


def log_schedule(costs: RunCosts, max_iters: int, sample_tokens: int) -> int:
    """Steps between two logs for a run of max_iters steps at these costs (liverun.log_every).

    Example: log_schedule(RunCosts(0.1, 1.0, 0.001, 0.1), 150, 100) == 40
    """
    return log_every(max_iters, costs.step, costs.log(sample_tokens))


def evaluations(train: TrainConfig, done: int = 0) -> int:
    """Evaluations still to come after step `done`: every eval_interval steps and at the end.

    Example: evaluations(TrainConfig(max_iters=250, eval_interval=100)) == 3  # 100, 200, 250
    """
    n, every = train.max_iters, train.eval_interval
    ahead = n // every - done // every
    return ahead + (1 if n % every and done < n else 0)


def logs(max_iters: int, every: int, done: int = 0) -> int:
    """Samples (and as many head snapshots) still to come: at step 0, every few steps, the end.

    Example: logs(40, 2) == 21  # steps 0, 2, ..., 40
    """
    ahead = max_iters // every - done // every + (1 if done == 0 else 0)
    return ahead + (1 if max_iters % every and done < max_iters else 0)


def run_seconds(
    costs: RunCosts,
    train: TrainConfig,
    every: int,
    sample_tokens: int,
    done: int = 0,
    page: float = 0.0,
) -> float:
    """Seconds the rest of a run takes: its steps (the first one's warm-up too, from step 0),
    evaluations, samples and snapshots, logging every `every` steps samples of sample_tokens new
    tokens (LiveRun.log_tokens); plus `page` seconds of the page around it (page_seconds).

    Example: run_seconds(RunCosts(0.1, 1.0, 0.0, 0.0, warmup=0.5),
                         TrainConfig(max_iters=10, eval_interval=10, eval_iters=2), 5, 0,
                         page=2.0) == 10 * 0.1 + 0.5 + 1 * 2 * 1.0 + 2.0  # 5.5
    """
    return (
        (train.max_iters - done) * costs.step
        + (costs.warmup if done == 0 else 0.0)
        + evaluations(train, done) * train.eval_iters * costs.eval_batch
        + logs(train.max_iters, every, done) * costs.log(sample_tokens)
        + page
    )


def page_seconds(poll: float) -> float:
    """Wall time a run on an open page takes beyond its steps, about one poll interval.

    Measured in the browser on a quiet machine (150 steps): 0.1-0.2 s from the Start click to
    the training thread, 0.7-1.2 s from the thread's end to "finished" (the page waits for an
    end due before its next poll, lab/live.py), and the polls themselves: their Python work
    holds the interpreter lock the training thread needs between torch calls (a thread busy
    15% of the time slowed training to 0.84-0.87x: `python -m benchmarks --only
    interpreter_lock`). With one 2 s interval counted, the estimate came to 0.91-1.06 of the
    real time for 400 steps (benchmarks/RESULTS.md).

    Example: page_seconds(2.0) == 2.0
    """
    return poll


def measure_costs(
    run: LiveRun, steps: int = STEPS_TIMED, min_seconds: float | None = None
) -> RunCosts:
    """Time a step, an evaluation, a sample and a snapshot on a copy of the run's model.

    The first step is timed on its own (its excess over the mean of the others is the run's
    warm-up); then at least `steps` more, for at least `min_seconds` (MIN_TIMED_SECONDS when
    not given). The copy has its own optimizer and batch generator, so the real run is not
    touched.
    """
    min_seconds = MIN_TIMED_SECONDS if min_seconds is None else min_seconds
    model = copy.deepcopy(run.model)
    trainer = Trainer(model, run.data, run.trainer.config)
    trainer.steps_done = run.steps_done  # the same place in the schedule
    times: list[float] = []
    while len(times) <= steps or sum(times[1:]) < min_seconds:
        start = time.perf_counter()
        with contextlib.suppress(TrainingDiverged):  # still a step's worth of work
            trainer.step()
        times.append(time.perf_counter() - start)
    iters = 2
    start = time.perf_counter()
    trainer.evaluate(iters)
    eval_batch = (time.perf_counter() - start) / iters
    shadow = copy.copy(run)  # the same tokenizer and probe, the copied model, no logs kept
    shadow.model, shadow.snapshots = model, []
    tokens = run.log_tokens()  # as long as the run's logged samples (they fit in the context)
    start = time.perf_counter()
    shadow.sample(sampling=SamplingConfig(max_new_tokens=tokens))
    sample_token = (time.perf_counter() - start) / tokens
    start = time.perf_counter()
    shadow.snapshot_heads()
    snapshot = time.perf_counter() - start
    step = statistics.fmean(times[1:])
    return RunCosts(step, eval_batch, sample_token, snapshot, warmup=max(0.0, times[0] - step))


def measure_costs_as_trainer(
    run: LiveRun, steps: int = STEPS_TIMED, min_seconds: float | None = None
) -> RunCosts:
    """measure_costs on a thread at the training thread's priority (background.NICE), so a busy
    server slows the estimate as much as it will slow the run.

    A thread cannot raise its priority back without privileges, so the measuring thread is a
    short-lived one of its own and the caller's thread keeps its priority.
    """
    out: list[RunCosts | BaseException] = []

    def measure() -> None:
        lower_priority()
        try:
            out.append(measure_costs(run, steps, min_seconds))
        except BaseException as e:  # handed to the caller's thread, raised there
            out.append(e)

    TURNS.give_back()  # a second or two of timing: other pages draw meanwhile
    thread = threading.Thread(target=measure, name="estimate", daemon=True)
    thread.start()
    thread.join()
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]

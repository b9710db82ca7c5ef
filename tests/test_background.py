"""The per-session training thread: it trains, stops, queues, steps aside, and reports errors."""

from __future__ import annotations

import threading
import time

from lab.engine.background import Activity, BackgroundTrainer
from lab.engine.slots import TrainerSlots


class Counter:
    """Work whose answer is known: `target` slices, each counted once."""

    def __init__(self, target: int, seconds: float = 0.0) -> None:
        self.target, self.seconds, self.slices = target, seconds, 0
        self.seen_locked: list[bool] = []
        self.lock: threading.Lock | None = None

    @property
    def done(self) -> bool:
        return self.slices >= self.target

    def advance(self, seconds: float, keep_going=None) -> None:
        if self.lock is not None:
            self.seen_locked.append(self.lock.locked())
        time.sleep(self.seconds)
        self.slices += 1


def wait_until(condition, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def test_trains_to_the_end_under_its_lock_and_gives_the_slot_back():
    slots = TrainerSlots(1)
    bg = BackgroundTrainer(slots)
    work = Counter(5)
    work.lock = bg.lock
    assert bg.start(work)
    bg.join(timeout=10)
    assert work.slices == 5 and all(work.seen_locked)
    assert not bg.running and bg.error is None
    assert not slots.holds(bg.owner)


def test_stop_ends_the_thread_and_start_resumes():
    slots = TrainerSlots(1)
    bg = BackgroundTrainer(slots)
    work = Counter(10_000, seconds=0.001)
    bg.start(work)
    assert wait_until(lambda: work.slices > 3)
    bg.stop()
    assert not bg.running
    bg.join(timeout=10)
    stopped_at = work.slices
    time.sleep(0.05)
    assert work.slices == stopped_at  # nothing trains after the thread ended
    assert not slots.holds(bg.owner)
    assert bg.start(work)  # Resume goes on from where it stopped
    assert wait_until(lambda: work.slices > stopped_at)
    bg.close()


def test_a_second_start_while_running_is_refused():
    bg = BackgroundTrainer(TrainerSlots(1))
    work = Counter(10_000, seconds=0.001)
    assert bg.start(work)
    assert not bg.start(Counter(1))
    bg.close()


def test_a_session_without_a_slot_waits_and_trains_once_one_frees():
    slots = TrainerSlots(1)
    first, second = BackgroundTrainer(slots), BackgroundTrainer(slots, wait_seconds=0.01)
    a, b = Counter(10_000, seconds=0.001), Counter(3)
    first.start(a)
    assert wait_until(lambda: a.slices > 0)
    second.start(b)
    assert wait_until(lambda: second.waiting == 1)
    assert b.slices == 0
    first.stop()
    assert wait_until(lambda: b.done)
    second.join(timeout=10)
    assert second.waiting == 0


def test_steps_aside_while_pages_are_drawn_but_not_forever():
    activity = Activity()
    bg = BackgroundTrainer(TrainerSlots(1), max_yield=0.2, activity=activity)
    work = Counter(2)
    with activity.busy():
        assert activity() == 1
        bg.start(work)
        time.sleep(0.05)
        assert work.slices == 0  # a page is being drawn: the run waits
        bg.join(timeout=10)  # ...but at most max_yield per slice
    assert work.done and bg.yielded >= 0.2
    assert activity() == 0


class Steps:
    """Work made of steps of `step` seconds that asks keep_going between them, as LiveRun does;
    records how many steps each slice made."""

    def __init__(self, step: float = 0.01) -> None:
        self.step, self.slices = step, []
        self.started = threading.Event()
        self.finish = threading.Event()  # set: the work is done after its current slice

    @property
    def done(self) -> bool:
        return self.finish.is_set()

    def advance(self, seconds: float, keep_going=None) -> None:
        made, start = 0, time.perf_counter()
        while not made or (
            time.perf_counter() - start < seconds and (keep_going is None or keep_going())
        ):
            time.sleep(self.step)
            made += 1
            self.started.set()
        self.slices.append(made)


def test_a_page_that_starts_drawing_ends_the_slice_at_the_next_step_after_min_slice():
    activity = Activity()
    bg = BackgroundTrainer(TrainerSlots(1), slice_seconds=10.0, min_slice=0.1, activity=activity)
    work = Steps(step=0.01)
    bg.start(work)
    assert work.started.wait(10)  # no page drawing: the slice has begun, for up to 10 s
    with activity.busy():  # a student clicks
        assert wait_until(lambda: len(work.slices) == 1, timeout=5)
        work.finish.set()
    bg.join(timeout=10)
    # At least min_slice of 0.01 s steps (about 10), and far from the 10 s it was sized for.
    assert 5 <= work.slices[0] < 100


def test_stop_ends_a_slice_at_the_next_step():
    bg = BackgroundTrainer(TrainerSlots(1), slice_seconds=10.0)
    work = Steps(step=0.01)
    bg.start(work)
    assert work.started.wait(10)
    start = time.perf_counter()
    bg.stop()
    bg.join(timeout=10)
    assert not bg.alive and time.perf_counter() - start < 5
    assert len(work.slices) == 1 and work.slices[0] < 500


def test_an_exception_in_the_work_becomes_a_sentence_and_frees_the_slot():
    class Broken(Counter):
        def advance(self, seconds: float, keep_going=None) -> None:
            raise RuntimeError("weights went missing")

    slots = TrainerSlots(1)
    bg = BackgroundTrainer(slots)
    bg.start(Broken(1))
    bg.join(timeout=10)
    assert bg.error == "Training stopped: RuntimeError: weights went missing"
    assert not slots.holds(bg.owner)

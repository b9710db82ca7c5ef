"""A page that polls a run looks again just after the run's last step is due, not a whole poll
interval later (lab.live.await_last_step), on a fake clock: no real waiting, no timing."""

from __future__ import annotations

import pytest

from lab import live
from lab.engine import turns as turns_module
from lab.engine.background import ACTIVITY
from lab.engine.turns import Turns


class FakeClock:
    """time.monotonic and time.sleep for lab.live: sleeping advances the clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Run:
    """A run whose recent pace says it ends `eta` seconds from now, and which really does end
    at `ends_at` on the clock (None: it never ends)."""

    def __init__(self, clock: FakeClock, eta: float | None, ends_at: float | None) -> None:
        self.clock, self.eta, self.ends_at = clock, eta, ends_at

    def eta_seconds(self) -> float | None:
        return self.eta

    def training(self) -> bool:
        return self.ends_at is None or self.clock.now < self.ends_at


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(live.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(live.time, "sleep", fake.sleep)
    monkeypatch.setattr(live, "in_fragment_rerun", lambda: True)
    monkeypatch.setattr(live, "trains", lambda work: work is not None and work.training())
    return fake


def test_a_run_due_before_the_next_look_is_waited_for_until_its_end(clock: FakeClock) -> None:
    run = Run(clock, eta=0.6, ends_at=0.7)
    live.await_last_step(run, before=2.0)
    assert 0.7 <= clock.now < 0.8  # returned as the run ended, not at the next poll (2.0)


def test_the_wait_never_passes_the_due_time_and_margin(clock: FakeClock) -> None:
    run = Run(clock, eta=0.6, ends_at=None)  # the pace was wrong: the run goes on
    live.await_last_step(run, before=2.0)
    assert clock.now == pytest.approx(0.6 + live.LAST_STEP_MARGIN, abs=0.051)
    run = Run(clock, eta=1.95, ends_at=None)
    start = clock.now
    live.await_last_step(run, before=2.0)
    assert clock.now - start == pytest.approx(2.0, abs=0.051)  # capped at the next look


@pytest.mark.parametrize("eta", [None, 2.0, 30.0])
def test_no_wait_when_the_end_is_unknown_or_after_the_next_look(
    clock: FakeClock, eta: float | None
) -> None:
    live.await_last_step(Run(clock, eta=eta, ends_at=None), before=2.0)
    assert clock.now == 0.0


def test_no_wait_outside_a_fragment_rerun_or_for_a_run_that_is_not_training(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    live.await_last_step(Run(clock, eta=0.5, ends_at=0.0), before=2.0)  # already ended
    live.await_last_step(None, before=2.0)
    monkeypatch.setattr(live, "in_fragment_rerun", lambda: False)
    live.await_last_step(Run(clock, eta=0.5, ends_at=None), before=2.0)  # a full page run
    assert clock.now == 0.0


def test_the_wait_hands_the_page_turn_on_and_does_not_hold_the_run_up(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    turns = Turns(1, max_wait=0.5)
    monkeypatch.setattr(turns_module, "TURNS", turns)
    seen = []  # (page draws counted, turn free) at each sleep
    sleep = clock.sleep

    def sleep_and_look(seconds: float) -> None:
        free = turns._slots.acquire(blocking=False)
        if free:
            turns._slots.release()
        seen.append((ACTIVITY(), free))
        sleep(seconds)

    monkeypatch.setattr(live.time, "sleep", sleep_and_look)
    with turns_module.page_turn("fragment _live"):
        live.await_last_step(Run(clock, eta=0.3, ends_at=0.3), before=2.0)
        assert ACTIVITY() == 1  # drawing again, with its turn
    assert seen and all(s == (0, True) for s in seen)

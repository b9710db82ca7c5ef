"""Pages draw in turn (lab/engine/turns.py): one at a time, in order, never stuck behind one."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import pytest

from lab.engine import turns as turns_module
from lab.engine.background import ACTIVITY
from lab.engine.turns import Turns, in_turn


def test_a_second_run_waits_until_the_first_has_drawn() -> None:
    turns, events = Turns(1), []
    inside, release = threading.Event(), threading.Event()

    def first() -> None:
        with turns.take():
            events.append("first in")
            inside.set()
            release.wait(5)
            events.append("first out")

    def second() -> None:
        inside.wait(5)
        with turns.take():
            events.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    inside.wait(5)
    threading.Event().wait(0.2)  # room for the second to (wrongly) get in
    assert events == ["first in"]
    release.set()
    for t in threads:
        t.join(5)
    assert events == ["first in", "first out", "second in"]
    assert turns.waited_too_long == 0


def test_two_at_once_when_the_server_allows_two() -> None:
    turns, both = Turns(2), threading.Barrier(2, timeout=5)

    def run() -> None:
        with turns.take():
            both.wait()  # raises BrokenBarrierError unless both are inside together

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert not both.broken


def test_a_fragment_inside_its_page_run_does_not_wait_on_itself() -> None:
    turns, done = Turns(1), threading.Event()

    def page() -> None:
        with turns.take(), turns.take() as waited:  # the page, then a fragment in it
            assert waited == 0.0
        done.set()

    t = threading.Thread(target=page)
    t.start()
    t.join(5)
    assert done.is_set()
    with turns.take():  # and the turn was handed back
        pass


@contextlib.contextmanager
def another_run_holding(turns: Turns) -> Iterator[None]:
    """Inside, another thread's run holds a turn of `turns` (a page stuck drawing)."""
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with turns.take():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    inside.wait(5)
    try:
        yield
    finally:
        release.set()
        t.join(5)


def test_a_run_that_waits_too_long_draws_anyway() -> None:
    turns = Turns(1, max_wait=0.1)
    with another_run_holding(turns), turns.take() as waited:
        assert waited >= 0.1
    assert turns.waited_too_long == 1
    with turns.take() as waited:  # nothing was left held: the next run goes straight in
        assert waited < 0.1
    assert turns.waited_too_long == 1


def test_an_exception_hands_the_turn_on() -> None:
    turns = Turns(1, max_wait=0.5)
    with pytest.raises(RuntimeError), turns.take():
        raise RuntimeError("a page failed")
    with turns.take():
        pass
    assert turns.waited_too_long == 0


def test_a_fragment_in_turn_keeps_its_name_and_counts_as_a_page_draw() -> None:
    seen = []

    def _heads(x: int) -> int:
        seen.append(ACTIVITY())
        return x + 1

    wrapped = in_turn(_heads)
    assert wrapped(1) == 2
    assert seen == [1]  # trainers step aside while it draws
    assert ACTIVITY() == 0
    # st.fragment names a fragment by its function's module and qualified name.
    assert (wrapped.__module__, wrapped.__qualname__) == (_heads.__module__, _heads.__qualname__)


@pytest.mark.parametrize(("raw", "expected"), [("", 1), ("2", 2), ("two", 1), ("0", 1)])
def test_how_many_draw_at_once(monkeypatch: pytest.MonkeyPatch, raw: str, expected: int) -> None:
    monkeypatch.setenv("MINIGPT_PAGE_TURNS", raw)
    assert Turns(turns_module._at_once()).at_once == expected


def test_a_long_turn_is_logged_by_name(caplog: pytest.LogCaptureFixture) -> None:
    times = iter([0.0, 0.0, 2.5, 10.0, 10.0, 10.2])  # asked, began, ended; twice
    turns = Turns(1, clock=lambda: next(times))
    with caplog.at_level("WARNING", logger=turns_module.__name__):
        with turns.take("page training"):  # held 2.5 s: logged
            pass
        with turns.take("page home"):  # held 0.2 s: not
            pass
    assert [r.getMessage() for r in caplog.records] == [
        "page training held the page turn for 2.5 s"
    ]


def test_a_run_that_gives_its_turn_back_lets_the_next_one_draw() -> None:
    turns, order = Turns(1, max_wait=0.2), []
    gave, done = threading.Event(), threading.Event()

    def estimate_page() -> None:
        with turns.take():
            turns.give_back()  # about to wait on a timing thread
            order.append("gave back")
            gave.set()
            done.wait(5)  # still running, without a turn
            order.append("first ends")

    t = threading.Thread(target=estimate_page)
    t.start()
    gave.wait(5)
    with turns.take() as waited:  # gets in while the first is still running
        order.append("second draws")
    done.set()
    t.join(5)
    assert order == ["gave back", "second draws", "first ends"]
    assert waited < 0.2 and turns.waited_too_long == 0
    # The turn was released once, not twice: beside a run holding one, the next still waits.
    with another_run_holding(turns), turns.take():
        pass
    assert turns.waited_too_long == 1


def test_giving_back_outside_a_turn_does_nothing() -> None:
    turns = Turns(1)
    turns.give_back()
    with turns.take(), turns.take():
        turns.give_back()  # inside a fragment inside its page: the page's turn goes
    with turns.take() as waited:
        assert waited < 1


def test_waiting_for_a_trainer_hands_the_page_turn_on(monkeypatch: pytest.MonkeyPatch) -> None:
    turns = Turns(1, max_wait=5)
    monkeypatch.setattr(turns_module, "TURNS", turns)
    free, slice_running = threading.Lock(), threading.Lock()
    with turns.take():  # a free lock: taken at once, the turn kept, released after the block
        with turns_module.locked_in_turn(free, 1.0) as locked:
            assert locked
            assert free.locked()
        assert not free.locked()
        assert not turns._slots.acquire(blocking=False)  # still ours
    slice_running.acquire()  # a trainer's slice holds its lock
    order, waiting = [], threading.Event()

    def page() -> None:
        with turns.take():
            waiting.set()
            with turns_module.locked_in_turn(slice_running, 5.0) as got:
                order.append(f"page read the model: {got}")

    t = threading.Thread(target=page)
    t.start()
    waiting.wait(5)
    with turns.take() as waited:  # another page draws while the first waits for the slice
        order.append("another page drew")
    slice_running.release()  # the slice ends
    t.join(5)
    assert order == ["another page drew", "page read the model: True"]
    assert not slice_running.locked()  # the page let go of it after its block
    assert waited < 5


def test_a_run_waiting_aside_lets_the_next_one_draw_then_takes_its_turn_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    turns = Turns(1, max_wait=5)
    monkeypatch.setattr(turns_module, "TURNS", turns)
    order, aside, drawn = [], threading.Event(), threading.Event()

    def polling_fragment() -> None:
        with turns_module.page_turn("fragment _live"):
            assert ACTIVITY() == 1
            with turns_module.waiting_aside():  # sleeping until a run's last step
                assert ACTIVITY() == 0  # trainers need not step aside for a sleeper
                aside.set()
                drawn.wait(5)
            assert ACTIVITY() == 1
            order.append("fragment draws again")
            # ...with the turn: another run now waits for it.
            assert not turns._slots.acquire(blocking=False)

    t = threading.Thread(target=polling_fragment)
    t.start()
    aside.wait(5)
    with turns.take() as waited:
        order.append("another page draws")
    drawn.set()
    t.join(5)
    assert order == ["another page draws", "fragment draws again"]
    assert waited < 1 and turns.waited_too_long == 0 and ACTIVITY() == 0


def test_time_aside_is_not_logged_as_holding_the_turn(caplog: pytest.LogCaptureFixture) -> None:
    # asked, began; aside from 0.5 to 3.0 (then the turn is asked for again); ended at 3.2
    times = iter([0.0, 0.0, 0.5, 3.0, 3.2])
    turns = Turns(1, clock=lambda: next(times))
    with (
        caplog.at_level("WARNING", logger=turns_module.__name__),
        turns.take("fragment _live"),
        turns.aside(),
    ):
        pass
    assert caplog.records == []  # held 0.7 s of its 3.2


def test_waiting_aside_outside_a_turn_changes_nothing() -> None:
    with turns_module.waiting_aside():
        assert ACTIVITY() == 0
    assert ACTIVITY() == 0


def test_a_fragment_inside_its_page_run_counts_once_as_a_page_draw() -> None:
    with turns_module.page_turn("page training"), turns_module.page_turn("fragment _live"):
        assert ACTIVITY() == 1
    assert ACTIVITY() == 0


def test_a_poll_takes_its_turn_but_trainers_do_not_give_way_to_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    turns = Turns(1, max_wait=0.2)
    monkeypatch.setattr(turns_module, "TURNS", turns)
    seen = []

    def _live() -> None:
        seen.append(ACTIVITY())
        assert not turns._slots.acquire(blocking=False)  # the poll holds the turn
        with turns_module.waiting_aside():  # sleeping until its run's last step
            seen.append(ACTIVITY())  # never below zero: a poll was not counted to begin with
        seen.append(ACTIVITY())

    in_turn(_live, counted=False)()
    assert seen == [0, 0, 0] and ACTIVITY() == 0
    assert turns.waited_too_long == 0


@pytest.mark.parametrize(("run_every", "counted"), [(None, 1), (2.0, 0)])
def test_a_fragment_on_a_timer_is_a_poll(
    monkeypatch: pytest.MonkeyPatch, run_every: float | None, counted: int
) -> None:
    from lab import fragments

    monkeypatch.setattr(fragments.st, "fragment", lambda draw, run_every: draw)
    seen = []
    fragments.fragment(lambda: seen.append(ACTIVITY()), run_every=run_every)()
    assert seen == [counted]  # a click's fragment run is counted; a poll is not


def test_a_lock_not_taken_in_time_is_not_released(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(turns_module, "TURNS", Turns(1, max_wait=5))
    held = threading.Lock()
    held.acquire()  # a slice that outlasts the page's patience
    with turns_module.locked_in_turn(held, 0.05) as locked:
        assert not locked
    assert held.locked()  # still the slice's: the block did not release what it never took

"""Pages draw in turn: one page run at a time per server, because of the interpreter lock.

torch lets go of Python's interpreter lock (the GIL) around every operation and must take it
back afterwards. A thread that is running Python (another session's page building its
elements and charts) keeps the lock until it is made to hand it over, which Python does only
every `sys.getswitchinterval()` (5 ms). So while any other page was drawing, a page running a
model waited up to 5 ms after each of its operations, and a model's forward pass is hundreds
of them: Home's 120-token sample (about 12,000 operations) took 48 ms on its own and 44 s
beside a single thread running Python (benchmarks/RESULTS.md, "A lesson for 30, pages in
turn"). A shorter switch interval only shrinks that (3.4 s at 0.5 ms) and taxes every thread.

Taking turns removes it. A page run waits for its turn, draws with the interpreter to itself
(bar the server's event loop and the trainers, which spend their time inside torch), and hands
the turn on. The class does the same work in less time, since nothing waits 5 ms per
operation; a click queues behind the runs ahead of it instead (in the lesson for thirty, the
slowest kind's p95 went from 5.8-6.4 s to 1.1-2.8 s). Turns go roughly in the order asked (a
semaphore's waiters wake first come, first served, though a newcomer may slip in as one
leaves); a page run or a fragment's run is one turn.

No single run can hold the class up: a run that has waited MAX_WAIT seconds for its turn draws
anyway, as every run did before turns. MINIGPT_PAGE_TURNS sets how many draw at once (1).
No Streamlit here: lab/app.py takes a turn for each page run, and lab/fragments.py makes
every fragment take one (`in_turn`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

from lab.engine.background import ACTIVITY

MAX_WAIT = 15.0  # seconds a run waits for its turn before drawing anyway
LONG_HOLD = 1.0  # a run that holds its turn longer is logged: the class waited on it
HELD_THE_TURN = " held the page turn for "  # the log line: name, this, seconds (load tests read it)
LOG = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


class Turns:
    """Who may draw now: at most `at_once` runs, the rest wait in order (up to `max_wait`).

    Re-entrant per thread, so a fragment drawn inside its page's run does not wait on itself.
    Example:
        turns = Turns(1)
        with turns.take():
            navigation.run()
    """

    def __init__(
        self,
        at_once: int = 1,
        max_wait: float = MAX_WAIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.at_once, self.max_wait, self.clock = max(1, at_once), max_wait, clock
        self._slots = threading.Semaphore(self.at_once)
        self._mine = threading.local()  # this thread's turn: depth, held, gave_back, aside
        self.waited_too_long = 0  # runs that drew without a turn (for the logs and tests)

    @contextlib.contextmanager
    def take(self, name: str = "a page") -> Iterator[float]:
        """Wait for a turn (unless this thread has one), draw, hand it on; yields seconds waited.

        A turn held longer than LONG_HOLD is logged with `name`: everyone queued waited on it.
        """
        mine = self._mine
        depth = getattr(mine, "depth", 0)
        if depth:
            mine.depth = depth + 1
            try:
                yield 0.0
            finally:
                mine.depth = depth
            return
        start = self.clock()
        mine.held, mine.depth, mine.gave_back, mine.aside = self._acquire(), 1, None, 0.0
        begun = self.clock()
        try:
            yield begun - start
        finally:
            mine.depth = 0
            if mine.held:
                self._slots.release()
                mine.held = False
            ended = self.clock() if mine.gave_back is None else mine.gave_back
            held = ended - begun - mine.aside
            if held > LONG_HOLD:
                LOG.warning("%s%s%.1f s", name, HELD_THE_TURN, held)

    def give_back(self) -> None:
        """Hand this thread's turn on now, and draw the rest of the run without one.

        For a run about to wait on work that is not its own Python (the training page's
        estimate times a model on a thread of its own, which should see the server as a training
        thread does, other pages drawing included). It does not queue for the turn again: the
        wait may be inside a cache computation whose lock the next run could be waiting on.
        """
        mine = self._mine
        if getattr(mine, "depth", 0) and getattr(mine, "held", False):
            mine.held, mine.gave_back = False, self.clock()
            self._slots.release()

    def holding(self) -> bool:
        """This thread is inside a turn (drawing, or a run that gave its turn back)."""
        return getattr(self._mine, "depth", 0) > 0

    @contextlib.contextmanager
    def aside(self) -> Iterator[None]:
        """Hand this thread's turn on for a wait, and queue for it again afterwards.

        For a run that sleeps until something else happens (a training run's last step): the
        class draws meanwhile, and the wait is not counted as holding the turn. Unlike
        give_back, only for waits outside any cache computation (the next run might need its
        lock). Outside a turn, or after give_back, it changes nothing.
        """
        mine = self._mine
        if not (getattr(mine, "depth", 0) and getattr(mine, "held", False)):
            yield
            return
        mine.held = False
        self._slots.release()
        start = self.clock()
        try:
            yield
        finally:
            mine.held = self._acquire()
            mine.aside += self.clock() - start

    def _acquire(self) -> bool:
        got = self._slots.acquire(timeout=self.max_wait)
        if not got:
            self.waited_too_long += 1
            LOG.warning("a run waited %.0f s for the page turn and draws without it", self.max_wait)
        return got


def _at_once() -> int:
    try:
        return int(os.environ.get("MINIGPT_PAGE_TURNS", "1"))
    except ValueError:
        return 1


TURNS = Turns(_at_once())  # one per server process, like the trainer slots
_COUNTED = threading.local()  # .value: this thread's run is counted in ACTIVITY (a click's run)


@contextlib.contextmanager
def locked_in_turn(lock: threading.Lock, timeout: float) -> Iterator[bool]:
    """Hold a trainer's lock for a page run's block, waiting up to timeout; yields whether it
    was taken (released after the block). If a slice holds it, the page turn is handed on
    first (give_back), so the class draws while this run waits.

    Example: with locked_in_turn(bg.lock, 3.0) as locked: if locked: view = run.view()
    """
    locked = lock.acquire(blocking=False)
    if not locked:
        TURNS.give_back()
        locked = lock.acquire(timeout=timeout)
    try:
        yield locked
    finally:
        if locked:
            lock.release()


@contextlib.contextmanager
def page_turn(name: str = "a page", counted: bool = True) -> Iterator[None]:
    """A page run's turn; while it waits or draws, this server's trainers step aside.

    `counted=False` is for a poll (a fragment redrawing itself on a timer to show a run's
    progress): it takes its turn like any run, but trainers do not give way to it, so a run
    does not pause every time its own page looks at it; they give way to students' clicks.
    A run counts once in ACTIVITY however deep its turns go (a fragment inside its page's run),
    so `waiting_aside` can take it out of the count.
    """
    if TURNS.holding():
        with TURNS.take(name):
            yield
        return
    with ACTIVITY.busy() if counted else contextlib.nullcontext(), TURNS.take(name):
        _COUNTED.value = counted
        try:
            yield
        finally:
            _COUNTED.value = False


@contextlib.contextmanager
def waiting_aside() -> Iterator[None]:
    """A page run waiting on a trainer (sleeping until its run ends): meanwhile the turn goes to
    the next run, and trainers no longer step aside for this one, which would keep the run it
    waits for from ending. Outside a page turn it changes nothing.

    Example: with waiting_aside(): time.sleep(0.5)
    """
    if not TURNS.holding():
        yield
        return
    counted = getattr(_COUNTED, "value", False)
    with ACTIVITY.idle() if counted else contextlib.nullcontext(), TURNS.aside():
        yield


def in_turn(draw: Callable[P, R], counted: bool = True) -> Callable[P, R]:
    """`draw` (a fragment's function) takes a page turn each time it runs; `counted=False` for
    a poll (see page_turn).

    Example: st.fragment(in_turn(_live, counted=False), run_every=2) (lab/fragments.py)
    """

    @functools.wraps(draw)
    def drawn_in_turn(*args: P.args, **kwargs: P.kwargs) -> R:
        with page_turn(f"fragment {draw.__qualname__}", counted):
            return draw(*args, **kwargs)

    return drawn_in_turn

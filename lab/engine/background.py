"""Training that goes on while its student explores: one background thread per session.

A page starts a run and the student walks off to Attention or Next token; the run keeps
training on its own thread, and every page can show its progress and use the model as it is.
No Streamlit here: the thread never touches `st.*` (Streamlit does not support it), and the
session's page code only reads what the thread publishes, under the trainer's lock.

Three rules keep one shared server fair:
- a run trains only while its session holds one of the server's trainer slots (a lease it
  renews every slice, so a session that vanishes frees its slot within the lease);
- the thread runs at normal priority (NICE): Linux schedules the server's process as one
  group against the machine's other processes (autogroup, or a container's cgroup), so a lower
  priority only counted against the server's own threads, and each of their wake-ups shrank the
  trainer's part of the group's share (side by side with `python -m minigpt.train` on a loaded
  2-core machine: 0.65-0.72x of its speed at nice 10, 0.80-0.89x at nice 0, the same CPU time);
- between slices the thread steps aside while the server is drawing pages students asked
  for (`activity`: clicks, not polls), up to MAX_YIELD seconds, and a click during a slice
  ends it at the next step once the slice has had MIN_SLICE seconds, so a class clicking
  stays responsive while runs train. MIN_SLICE is a run's guaranteed share while a class
  never stops clicking: about MIN_SLICE / (MAX_YIELD + MIN_SLICE) of a core each.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Protocol

from lab.engine.slots import TrainerSlots

SLICE_SECONDS = 0.5  # training between two looks at the stop flag, the slot and the class
WAIT_SECONDS = 1.0  # how often a queued run asks for a free trainer slot
MAX_YIELD = 2.0  # the longest a run steps aside for other people's page draws per slice
MIN_SLICE = 0.1  # training a slice keeps while pages draw (see the module docstring)
NICE = 0  # the training thread's scheduling niceness (0 is normal, 19 the lowest priority)


class Work(Protocol):
    """What a background trainer drives: a LiveRun, a live comparison, a fine-tune."""

    @property
    def done(self) -> bool: ...

    def advance(self, seconds: float, keep_going: Callable[[], bool] | None = None) -> object:
        """Train about `seconds` (at least one step); `keep_going` is asked between steps."""
        ...


class Activity:
    """How many page runs students asked for are waiting or drawing right now (polls are not
    counted: lab/engine/turns.py, page_turn), for trainers to step aside.

    Example:
        with ACTIVITY.busy():
            navigation.run()
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        with self._lock:
            self._count += 1
        try:
            yield
        finally:
            with self._lock:
                self._count -= 1

    @contextlib.contextmanager
    def idle(self) -> Iterator[None]:
        """Inside busy(): not counted for a while (a page run sleeping until a run ends must
        not make that run step aside for it)."""
        with self._lock:
            self._count -= 1
        try:
            yield
        finally:
            with self._lock:
                self._count += 1

    def __call__(self) -> int:
        """Page draws in flight now."""
        return self._count


ACTIVITY = Activity()  # one per server process, like the trainer slots


def lower_priority(nice: int = NICE) -> bool:
    """Lower the calling thread's scheduling priority (Linux schedules threads one by one).

    Returns False where that is not possible (another OS, or a sandbox that forbids it); the
    run then simply trains at normal priority.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (AttributeError, OSError):
        return False
    return True


class BackgroundTrainer:
    """One session's training thread: start, stop, and what it is doing now.

    Every slice runs under `lock`, so a page that reads the model (to copy it, sample from it,
    draw its heads) takes the lock and sees weights between two steps, never mid-update.
    Example:
        bg = BackgroundTrainer(slots)
        bg.start(run)           # returns at once; run.advance() is called on a thread
        ...
        bg.stop()
    """

    def __init__(
        self,
        slots: TrainerSlots,
        *,
        slice_seconds: float = SLICE_SECONDS,
        wait_seconds: float = WAIT_SECONDS,
        max_yield: float = MAX_YIELD,
        min_slice: float = MIN_SLICE,
        activity: Callable[[], int] = ACTIVITY,
    ) -> None:
        self.slots = slots
        self.owner = uuid.uuid4().hex  # this session's name on the trainer slots
        self.lock = threading.Lock()
        self.slice_seconds, self.wait_seconds, self.max_yield = (
            slice_seconds,
            wait_seconds,
            max_yield,
        )
        self.min_slice = min_slice
        self.activity = activity
        self.work: Work | None = None
        self.waiting = 0  # other sessions training when this one last asked for a slot
        self.error: str | None = None  # why the thread ended early (an unexpected exception)
        self.yielded = 0.0  # seconds spent stepping aside for other people's page draws
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Training, or queued for a slot: the thread is alive and was not asked to stop."""
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    @property
    def alive(self) -> bool:
        """The thread exists: training, queued, or finishing its slice after stop()."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, work: Work) -> bool:
        """Train `work` on a new thread until it is done or stopped; False if already running."""
        if self.running:
            return False
        self.join()  # a thread asked to stop may still be finishing its slice
        self.work, self.error, self.waiting = work, None, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop,
            args=(work, self._stop),
            name=f"trainer-{self.owner[:8]}",
            daemon=True,
        )
        self._thread.start()
        return True

    def stop(self) -> None:
        """Stop after the current step's slice, and give the trainer slot back at once."""
        self._stop.set()
        self.slots.release(self.owner)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (after stop(), or when the work is done)."""
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def close(self) -> None:
        """The session is over: stop and wait for the current slice to finish."""
        self.stop()
        self.join(timeout=10)

    # -- the thread

    def _loop(self, work: Work, stop: threading.Event) -> None:
        lower_priority()
        try:
            while not stop.is_set() and not work.done:
                if not self.slots.acquire(self.owner):
                    self.waiting = max(1, self.slots.others(self.owner))
                    stop.wait(self.wait_seconds)
                    continue
                self.waiting = 0
                self._step_aside(stop)
                if stop.is_set():
                    break
                with self.lock:
                    work.advance(self.slice_seconds, keep_going=self._keep_going(stop))
        except Exception as e:  # the page shows it; a thread's exception would vanish otherwise
            self.error = f"Training stopped: {type(e).__name__}: {e}"
        finally:
            self.slots.release(self.owner)

    def _keep_going(self, stop: threading.Event) -> Callable[[], bool]:
        """Whether a slice starting now should take another step: not once stopped, nor once
        pages are drawing and the slice has had min_slice seconds."""
        start = time.perf_counter()

        def keep_going() -> bool:
            if stop.is_set():
                return False
            return self.activity() == 0 or time.perf_counter() - start < self.min_slice

        return keep_going

    def _step_aside(self, stop: threading.Event) -> None:
        """Wait while the server draws pages for anyone, at most max_yield seconds."""
        start = time.perf_counter()
        while self.activity() > 0 and not stop.is_set():
            waited = time.perf_counter() - start
            if waited >= self.max_yield:
                break
            stop.wait(0.02)
        self.yielded += time.perf_counter() - start

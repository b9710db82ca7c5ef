"""One session's training, as every page sees it: what it trains, how far it got, and a
read-only copy of the model as it trains (no Streamlit here; lab/live.py is the glue).

A session has one background thread (lab/engine/background.py) and trains one job at a time:
the Training page's run, the Compare page's comparison, a fine-tune. Starting another job
pauses the one before (it keeps its progress, and Resume on its page starts it again).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from lab.engine import background
from lab.engine.background import BackgroundTrainer
from lab.engine.models import LabModel
from lab.engine.slots import TrainerSlots
from lab.engine.turns import locked_in_turn

SNAPSHOT_SECONDS = 3.0  # the live model is copied at most this often (a copy waits for a slice)
LOCK_WAIT = 3.0  # the longest a page waits for a slice to finish before using an older copy


@dataclass(eq=False)
class Job:
    """What the thread trains, and the name the sidebar gives it.

    work has `done`, `advance(seconds)`, `steps_done` and `max_iters`; a LiveRun (which also
    has `frozen_model()` and `tokenizer`) can be used as the live model on every page.
    """

    name: str
    work: Any
    serial: str = ""  # unique per job: part of every live model's cache key


class SessionTrainer:
    """A session's trainer thread, its current job and the snapshot of the live model.

    Example:
        holder = SessionTrainer(slots)
        holder.start("Live run 1", run)   # trains on a thread until done or stopped
        holder.status()                    # "training: step 40 of 1,500"
        holder.live_model()                # a frozen copy, keyed by its step
    """

    def __init__(self, slots: TrainerSlots) -> None:
        # Read at call time, so tests can shorten the slices.
        self.trainer = BackgroundTrainer(
            slots, slice_seconds=background.SLICE_SECONDS, wait_seconds=background.WAIT_SECONDS
        )
        self.job: Job | None = None
        self.polling = False  # a page drew with polling on: one full redraw once the thread ends
        self._snapshot: LabModel | None = None
        self._snapshot_at = 0.0
        self._snapshot_lock = threading.Lock()  # one copy at a time when pages ask together

    @property
    def lock(self) -> threading.Lock:
        """Held while a slice trains: take it to read the model between two steps."""
        return self.trainer.lock

    @property
    def running(self) -> bool:
        return self.trainer.running

    def finishing(self, work: Any) -> bool:
        """Whether work was stopped and its thread is still finishing the current slice."""
        job = self.job
        return (
            work is not None
            and job is not None
            and job.work is work
            and self.trainer.alive
            and not self.running
        )

    def trains(self, work: Any) -> bool:
        """Whether this work is the one training (or queued for a slot) now."""
        return work is not None and self.running and self.job is not None and self.job.work is work

    def start(self, name: str, work: Any) -> str | None:
        """Train work on the thread; returns the name of a job this paused, if any."""
        paused = None
        if self.job is not None and self.job.work is not work and self.running:
            paused = self.job.name
        if self.running and self.job is not None and self.job.work is work:
            return None
        self.trainer.stop()
        self.trainer.join(timeout=LOCK_WAIT * 3)
        if self.job is None or self.job.work is not work:
            self.job, self._snapshot = Job(name, work, uuid.uuid4().hex[:12]), None
        self.job.name = name
        self.trainer.start(work)
        return paused

    def stop(self, work: Any | None = None) -> None:
        """Stop after the current slice (only if work is the job, when given)."""
        if work is None or (self.job is not None and self.job.work is work):
            self.trainer.stop()

    def forget(self, work: Any) -> None:
        """Stop and drop the job if it is work (its page was reset)."""
        if self.job is not None and self.job.work is work:
            self.trainer.stop()
            self.trainer.join(timeout=LOCK_WAIT * 3)
            self.job, self._snapshot = None, None

    def close(self) -> None:
        """The session ended: stop training, which gives the trainer slot back."""
        self.trainer.close()

    def ended(self) -> bool:
        """True once after a page polled while training and the thread has since ended (done,
        or stopped and its last slice finished): that page then redraws in full, which
        switches its polling off."""
        if self.polling and not self.trainer.alive:
            self.polling = False
            return True
        return False

    # -- what the sidebar says

    def status(self) -> str | None:
        """One line on this session's training, or None when it has no job."""
        job = self.job
        if job is None:
            return None
        work = job.work
        done, total = int(work.steps_done), int(work.max_iters)
        failure = getattr(work, "failure", None)
        if self.trainer.error:
            return self.trainer.error
        if failure:
            return f"training stopped early at step {done:,}: it diverged"
        if self.running and self.trainer.waiting:
            return f"training: queued behind {self.trainer.waiting} other session(s)"
        if self.running:
            return f"training: step {done:,} of {total:,}"
        if work.done:
            return f"training: finished, {total:,} steps"
        return f"training: stopped at step {done:,} of {total:,}"

    # -- the live model

    def live_step(self) -> int | None:
        """The step the live model would show now, or None when there is no live model."""
        job = self.job
        if job is None or not hasattr(job.work, "frozen_model") or job.work.steps_done == 0:
            return None
        return int(job.work.steps_done)

    def live_model(self, now: float | None = None) -> LabModel | None:
        """A frozen copy of the job's model, taken under the trainer's lock and kept for
        SNAPSHOT_SECONDS; its key names the job and the step, so caches never mix two copies."""
        job, now = self.job, time.monotonic() if now is None else now
        step = self.live_step()
        if job is None or step is None:
            return None
        with self._snapshot_lock:
            old = self._snapshot
            fresh = old is not None and (now - self._snapshot_at < SNAPSHOT_SECONDS)
            if old is not None and (fresh or old.key.endswith(f"-{step}")):
                return old
            with locked_in_turn(self.lock, LOCK_WAIT) as locked:
                if not locked:
                    return old
                work = job.work
                step = int(work.steps_done)
                model = LabModel(
                    f"{job.name} (live, step {step:,})",
                    work.frozen_model(),
                    work.tokenizer,
                    list(work.metrics_rows()),
                    key=f"live-{job.serial}-{step}",
                )
            self._snapshot, self._snapshot_at = model, now
            return model

"""A cap on how many sessions train at once, that no closed tab can keep (no Streamlit here).

Like a BoundedSemaphore, but a slot belongs to an owner (a session) and is a lease: the owner
renews it with every slice of training, and a slot not renewed for `lease` seconds is free
again. A tab that closes mid-run stops renewing, so its slot comes back on its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TrainerSlots:
    """At most `size` owners hold a slot; acquire() never blocks.

    Example:
        slots = TrainerSlots(1)
        slots.acquire("a") and not slots.acquire("b")  # True: b waits for a
    """

    def __init__(
        self, size: int, lease: float = 15.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1 (got {size})")
        self.size, self.lease, self._clock = size, lease, clock
        self._lock = threading.Lock()
        self._holders: dict[str, float] = {}  # owner -> when it last renewed

    def _expire(self, now: float) -> None:
        for owner, seen in list(self._holders.items()):
            if now - seen > self.lease:
                del self._holders[owner]

    def acquire(self, owner: str) -> bool:
        """Take or renew owner's slot; False when every slot is held by someone else."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            if owner in self._holders or len(self._holders) < self.size:
                self._holders[owner] = now
                return True
            return False

    def release(self, owner: str) -> None:
        """Give owner's slot back (nothing happens if it holds none)."""
        with self._lock:
            self._holders.pop(owner, None)

    def others(self, owner: str) -> int:
        """How many other owners hold a slot now."""
        with self._lock:
            self._expire(self._clock())
            return sum(1 for o in self._holders if o != owner)

    def holds(self, owner: str) -> bool:
        with self._lock:
            self._expire(self._clock())
            return owner in self._holders

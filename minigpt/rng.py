"""torch's global random generator, shared safely by the threads of one process.

A Streamlit server runs every session's script on its own thread, and torch has one global
CPU generator per process. `fork_rng` + `manual_seed` alone is not enough there: while one
thread builds its seeded model, another thread's draws land in the same stream, and the
"same seed, same model" promise breaks for both (measured: two lab-live models built at once
differed from the same seeds built alone, 20 times out of 20). `seeded` holds a process-wide
lock for the whole seeded section, and every other draw from the global generator in the lab
(a throwaway model built before loading weights, dropout masks) takes the same lock.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence

import torch

_LOCK = threading.RLock()  # re-entrant: a seeded section may build things that seed again


@contextlib.contextmanager
def seeded(seed: int | None, devices: Sequence[torch.device] = ()) -> Iterator[None]:
    """Draw from the global generator seeded with `seed` (None: unseeded), alone, and hand the
    caller's random state back afterwards.

    Example: with seeded(0): a = torch.rand(2)  # the same a on every thread, every time
    """
    with _LOCK, torch.random.fork_rng(devices=list(devices)):
        if seed is not None:
            torch.manual_seed(seed)
        yield

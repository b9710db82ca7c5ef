"""Process-wide settings, chosen once for every session the server holds."""

import ctypes
import ctypes.util
import functools
import os
from collections.abc import Callable

import torch

_configured = False


def configure_torch() -> None:
    """One intra-op thread: sessions share the process, and on a busy machine torch's default
    (one thread per core) oversubscribes the cores and crawls for small models (benchmarks/
    RESULTS.md). MINIGPT_THREADS overrides it for a machine with cores to spare."""
    global _configured
    if not _configured:
        torch.set_num_threads(int(os.environ.get("MINIGPT_THREADS", "1")))
        _configured = True


def return_free_memory() -> bool:
    """Hand the memory malloc holds free back to the operating system (glibc's malloc_trim).

    Streamlit runs each session's script in threads of its own, and glibc gives threads heaps
    of their own that keep what was freed for reuse, so a server with a few sessions holds far
    more than it uses, and a memory limit counts what it holds. Returns False where there is
    no glibc (macOS, Windows, musl).
    """
    trim = _malloc_trim()
    return bool(trim and trim(0))


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # no such library, or a libc without malloc_trim
        return None

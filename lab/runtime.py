"""Process-wide settings, chosen once for every session the server holds."""

import ctypes
import ctypes.util
import os

import torch

_configured = False
_libc = None


def configure_torch() -> None:
    """One intra-op thread: sessions share the process, and on a busy 2-core machine torch's
    default (one thread per core) was measured 10-100x slower than one thread for small models.
    MINIGPT_THREADS overrides it for a machine with cores to spare."""
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
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        try:
            _libc = ctypes.CDLL(name) if name else False
            _libc.malloc_trim  # noqa: B018  (an AttributeError here means no glibc)
        except (OSError, AttributeError):
            _libc = False
    return bool(_libc and _libc.malloc_trim(0))

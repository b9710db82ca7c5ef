"""Process-wide settings, chosen once for every session the server holds."""

import os

import torch

_configured = False


def configure_torch() -> None:
    """One intra-op thread: sessions share the process, and on a busy 2-core machine torch's
    default (one thread per core) was measured 10-100x slower than one thread for small models.
    MINIGPT_THREADS overrides it for a machine with cores to spare."""
    global _configured
    if not _configured:
        torch.set_num_threads(int(os.environ.get("MINIGPT_THREADS", "1")))
        _configured = True

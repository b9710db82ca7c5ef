"""Process-wide settings: one torch thread unless told otherwise; freed memory goes back."""

import platform

import torch

from lab import runtime


def test_torch_runs_on_the_threads_it_is_told(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setattr(runtime, "_configured", False)
    monkeypatch.setenv("MINIGPT_THREADS", "1")
    try:
        runtime.configure_torch()
        assert torch.get_num_threads() == 1
        runtime.configure_torch()  # once per process: a second call changes nothing
    finally:
        torch.set_num_threads(before)


def test_freed_memory_is_handed_back_where_glibc_allows():
    blocks = [bytearray(1 << 16) for _ in range(2000)]  # 130 MB in small blocks, then freed
    del blocks
    trimmed = runtime.return_free_memory()
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert trimmed  # malloc_trim found memory to return
    assert runtime.return_free_memory() in (True, False)  # callable again, never raises

"""Process-wide settings: torch's thread count is set once; freed memory goes back to the OS."""

import platform

import torch

from lab import runtime


def test_torch_threads_are_set_once_from_the_environment(monkeypatch):
    before = torch.get_num_threads()  # conftest set 1: ask for 2, so the test can tell
    monkeypatch.setattr(runtime, "_configured", False)
    monkeypatch.setenv("MINIGPT_THREADS", "2")
    try:
        runtime.configure_torch()
        assert torch.get_num_threads() == 2
        monkeypatch.setenv("MINIGPT_THREADS", "3")
        runtime.configure_torch()  # once per process: a second call changes nothing
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_freed_memory_goes_back_through_malloc_trim_where_there_is_one(monkeypatch):
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert runtime._malloc_trim() is not None  # found in this machine's libc
    calls = []
    monkeypatch.setattr(runtime, "_malloc_trim", lambda: lambda pad: calls.append(pad) or 1)
    assert runtime.return_free_memory() is True and calls == [0]  # trim everything it can
    monkeypatch.setattr(runtime, "_malloc_trim", lambda: None)  # macOS, Windows, musl
    assert runtime.return_free_memory() is False

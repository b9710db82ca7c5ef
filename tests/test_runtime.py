"""Process-wide settings: torch's thread count and malloc's heaps are set once; freed memory goes
back to the OS."""

import base64
import io
import platform

import torch
from PIL import Image

from lab import runtime

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def test_torch_threads_and_heaps_are_set_once_from_the_environment(monkeypatch):
    before = torch.get_num_threads()  # conftest set 1: ask for 2, so the test can tell
    heaps = []
    monkeypatch.setattr(runtime, "_configured", False)
    monkeypatch.setattr(runtime, "limit_malloc_arenas", lambda: heaps.append(True))
    monkeypatch.setenv("MINIGPT_THREADS", "2")
    try:
        runtime.configure_process()
        assert torch.get_num_threads() == 2 and heaps == [True]
        monkeypatch.setenv("MINIGPT_THREADS", "3")
        runtime.configure_process()  # once per process: a second call changes nothing
        assert torch.get_num_threads() == 2 and heaps == [True]
    finally:
        torch.set_num_threads(before)


def test_freed_memory_goes_back_through_malloc_trim_where_there_is_one(monkeypatch):
    if GLIBC:
        assert runtime._libc_function("malloc_trim") is not None  # found in this machine's libc
    calls = []
    trim = lambda pad: calls.append(pad) or 1  # noqa: E731
    monkeypatch.setattr(runtime, "_libc_function", lambda name: trim)
    assert runtime.return_free_memory() is True and calls == [0]  # trim everything it can
    monkeypatch.setattr(runtime, "_libc_function", lambda name: None)  # macOS, Windows, musl
    assert runtime.return_free_memory() is False


def test_heaps_are_limited_through_mallopt_where_there_is_one(monkeypatch):
    if GLIBC:
        assert runtime.limit_malloc_arenas() is True  # glibc took the setting
    calls = []
    seen = lambda param, value: calls.append((param, value)) or 1  # noqa: E731
    monkeypatch.setattr(runtime, "_libc_function", lambda name: seen if name == "mallopt" else None)
    assert runtime.limit_malloc_arenas(3) is True and calls == [(runtime.M_ARENA_MAX, 3)]
    monkeypatch.setattr(runtime, "_libc_function", lambda name: None)
    assert runtime.limit_malloc_arenas() is False


def test_the_page_icon_is_a_png_of_the_causal_pattern():
    prefix = "data:image/png;base64,"
    url = runtime.page_icon()
    assert url.startswith(prefix)
    icon = Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :])))
    assert icon.size == (64, 64)
    # Cell centres, 16 px apart: a token attends to itself (opaque), to earlier tokens (faint)
    # and never to later ones (transparent).
    alpha = lambda row, col: icon.getpixel((8 + 16 * col, 8 + 16 * row))[3]  # noqa: E731
    assert [alpha(r, r) for r in range(4)] == [255] * 4
    assert 0 < alpha(3, 0) < 255
    assert [alpha(r, c) for r in range(4) for c in range(r + 1, 4)] == [0] * 6

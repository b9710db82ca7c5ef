"""Process-wide settings, chosen once for every session the server holds."""

import base64
import ctypes
import ctypes.util
import functools
import io
import os
from collections.abc import Callable

import torch
from PIL import Image, ImageDraw

_configured = False


def configure_process() -> None:
    """Once per server process: torch's thread count and malloc's heaps.

    One intra-op thread: sessions share the process, and on a busy machine torch's default
    (one thread per core) oversubscribes the cores and crawls for small models (benchmarks/
    RESULTS.md). MINIGPT_THREADS overrides it for a machine with cores to spare. malloc's heaps:
    see limit_malloc_arenas.
    """
    global _configured
    if not _configured:
        torch.set_num_threads(int(os.environ.get("MINIGPT_THREADS", "1")))
        limit_malloc_arenas()
        _configured = True


M_ARENA_MAX = -8  # glibc's mallopt parameter for the number of heaps (<malloc.h>)
ARENAS = 2  # measured in benchmarks/RESULTS.md ("Memory for a class: malloc's heaps")


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Let glibc keep at most `arenas` heaps for the threads the server starts from now on.

    Streamlit runs every session's script on a thread of its own, and glibc gives threads that
    allocate heaps of their own (up to eight per core). Each heap keeps what its threads freed,
    with blocks still in use scattered through it, so a class of thirty left the server holding
    far more than it used, even after malloc_trim. Heaps that already exist stay. Returns False
    where there is no glibc (macOS, Windows, musl).
    """
    mallopt = _libc_function("mallopt")
    return bool(mallopt and mallopt(M_ARENA_MAX, arenas))


def return_free_memory() -> bool:
    """Hand the memory malloc holds free back to the operating system (glibc's malloc_trim).

    Streamlit runs each session's script in threads of its own, and glibc gives threads heaps
    of their own that keep what was freed for reuse, so a server with a few sessions holds far
    more than it uses, and a memory limit counts what it holds. Returns False where there is
    no glibc (macOS, Windows, musl).
    """
    trim = _libc_function("malloc_trim")
    return bool(trim and trim(0))


@functools.cache
def _libc_function(name: str) -> Callable[..., int] | None:
    """A glibc function by name, or None where the C library has no such function."""
    library = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(library), name) if library else None
    except (OSError, AttributeError):  # no such library, or a libc without this function
        return None


@functools.cache
def page_icon(size: int = 64, cells: int = 4) -> str:
    """The lab's browser-tab icon, a causal attention pattern drawn here, as a PNG data URL.

    A Material icon or an emoji would make every student's browser fetch the picture from a
    font or emoji server; an image drawn in the process is served by the lab itself. A data URL
    rather than the image: st.set_page_config encodes an image to PNG again on every page run,
    and passes a data URL through as it is.
    """
    icon = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(icon)
    step = size // cells
    for row in range(cells):
        for col in range(row + 1):  # a token attends to itself and what came before
            alpha = 255 if col == row else 110 + 40 * col
            box = (col * step + 2, row * step + 2, (col + 1) * step - 2, (row + 1) * step - 2)
            draw.rounded_rectangle(box, radius=step // 5, fill=(181, 71, 58, alpha))
    png = io.BytesIO()
    icon.save(png, format="PNG")
    return "data:image/png;base64," + base64.b64encode(png.getvalue()).decode("ascii")

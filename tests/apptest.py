"""Helpers for Streamlit AppTest: run the router or one page, with a timeout fit for torch."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from lab.training import state as train_state
from tests.test_run import TEXT

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "lab" / "app.py")
TIMEOUT = 120  # a cold `import torch` plus a model load takes seconds on a busy 2-core machine


def page_path(name: str) -> str:
    return str(ROOT / "pages" / f"{name}.py")


def run_router(page: str | None = None) -> AppTest:
    """The whole app, optionally switched to pages/<page>.py."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if page:
        at.switch_page(f"../pages/{page}.py").run()
    return at


def run_page(name: str) -> AppTest:
    """One page alone, as if the router had never run (state accessors supply defaults)."""
    return AppTest.from_file(page_path(name), default_timeout=TIMEOUT).run()


def errors(at: AppTest) -> list[str]:
    """Every exception shown on the page, as text (an empty list means a clean page)."""
    return [str(e.value) for e in at.exception]


# The training page set up for a tiny, fast run on a pasted text (a few ms per step).
TINY_TRAINING = {
    train_state.TRAIN_SOURCE: "Paste text",
    train_state.TRAIN_PASTE: TEXT,
    train_state.TRAIN_LAYERS: 1,
    train_state.TRAIN_HEADS: 2,
    train_state.TRAIN_WIDTH: 16,
    train_state.TRAIN_CONTEXT: 16,
    train_state.TRAIN_BATCH: 4,
    train_state.TRAIN_WARMUP: 2,
    train_state.TRAIN_STEPS: 400,
    train_state.TRAIN_LR: 3e-3,
}

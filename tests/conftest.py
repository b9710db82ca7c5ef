"""Shared test setup: one torch thread (tests share a 2-core machine), and fixtures several
test modules use. Nothing here trains at import time: trained things are made on first use."""

from __future__ import annotations

import functools
import io

import pytest
import torch

torch.set_num_threads(1)


@functools.cache
def tiny_checkpoint() -> bytes:
    """A finished 10-step run of the tiny test model, as the Training page downloads it."""
    from lab.engine.liverun import LiveRun
    from lab.engine.runspec import RunSpec
    from tests.test_run import FAST, TEXT, TINY

    run = LiveRun(RunSpec(corpus_key="test", model=TINY, train=FAST), TEXT)
    while not run.done:
        run.advance(10.0)
    return run.to_checkpoint_bytes()


def pickle_checkpoint() -> bytes:
    """A torch pickle: refused on its first bytes, never unpickled."""
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buf)
    return buf.getvalue()


@pytest.fixture
def short_slices(monkeypatch):
    """Live training in short slices with almost no wait for a trainer slot, so page tests are
    quick (a session's trainer reads these when the session first trains)."""
    from lab.engine import background

    monkeypatch.setattr(background, "SLICE_SECONDS", 0.05)
    monkeypatch.setattr(background, "WAIT_SECONDS", 0.01)


@pytest.fixture(autouse=True)
def brief_step_timing(monkeypatch):
    """The training page times steps for MIN_TIMED_SECONDS before it estimates a run; tests check
    the estimate's arithmetic, not its accuracy (the browser benchmark measures that), so they
    time only the few steps STEPS_TIMED asks for."""
    from lab.engine import estimate

    monkeypatch.setattr(estimate, "MIN_TIMED_SECONDS", 0.0)

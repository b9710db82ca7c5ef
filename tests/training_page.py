"""What the Live training page's tests share: a tiny run's page, its session's box and
background trainer, and waiting for the training thread by condition, never by duration."""

import time

from streamlit.testing.v1 import AppTest

from lab import state
from lab.training import loop as training_loop
from lab.training import state as train_state
from tests.apptest import TIMEOUT, TINY_TRAINING, page_path

TINY_SETTINGS = TINY_TRAINING


def tiny_page(**settings) -> AppTest:
    at = AppTest.from_file(page_path("training"), default_timeout=TIMEOUT)
    for key, value in {**TINY_SETTINGS, **settings}.items():
        at.session_state[key] = value
    return at.run()


def to_the_end(at: AppTest) -> AppTest:
    """The run trains on its own thread: wait for the thread to end, then draw the page (AppTest
    never ticks run_every, so a run() stands for the fragment's poll)."""
    trainer(at).trainer.join(timeout=120)
    assert not trainer(at).running, "the run did not stop"
    return at.run()


def box(at: AppTest) -> training_loop.Session:
    return train_state.training_box_in(at.session_state)


def trainer(at: AppTest):
    """This AppTest session's background trainer (lab/engine/session.py)."""
    return state.trainer_in(at.session_state)


def running(at: AppTest) -> bool:
    return trainer(at).trains(box(at).run)


def wait_for(condition, timeout: float = 60.0) -> None:
    """Wait until the training thread has got somewhere (a condition, not a duration)."""
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "the training thread got nowhere"
        time.sleep(0.02)


def messages(at: AppTest) -> str:
    return " ".join(e.value for e in [*at.info, *at.warning, *at.error, *at.success])


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)

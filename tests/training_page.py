"""What the Live training page's tests share: a tiny run's page, its session's box and
background trainer, and waiting for the training thread by condition, never by duration."""

import time

from streamlit.testing.v1 import AppTest

from lab import state
from lab.training import loop as training_loop
from lab.training import state as train_state
from tests.apptest import TIMEOUT, TINY_TRAINING, page_path, run_router

TINY_SETTINGS = TINY_TRAINING


def tiny_page(**settings) -> AppTest:
    at = AppTest.from_file(page_path("training"), default_timeout=TIMEOUT)
    for key, value in {**TINY_SETTINGS, **settings}.items():
        at.session_state[key] = value
    return at.run()


def training_in_router(steps: int = TINY_SETTINGS[train_state.TRAIN_STEPS]) -> AppTest:
    """The whole app, its tiny run started on the Live training page and past its first step
    (a long `steps` keeps it training while a test visits other pages)."""
    at = run_router()
    for key, value in {**TINY_SETTINGS, train_state.TRAIN_STEPS: steps}.items():
        at.session_state[key] = value
    at.switch_page(page_path("training")).run()
    at.button(key=train_state.TRAIN_START).click().run()
    wait_for(lambda: box(at).run.steps_done > 0)
    return at


def stop_training(at: AppTest) -> None:
    """Stop the session's run and wait for its thread to let it go."""
    trainer(at).stop(box(at).run)
    trainer(at).trainer.join(timeout=60)
    assert not trainer(at).trainer.alive, "the run did not stop"


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

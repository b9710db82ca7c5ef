"""The Fine-tune page's widget keys and accessors, and this session's fine-tuning box."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from lab import state
from lab.engine import links
from lab.engine.finetune_run import FinetuneRun, RunView, Summary
from lab.engine.finetune_spec import (
    DEFAULT_BATCH,
    DEFAULT_EVAL_ITEMS,
    DEFAULT_LR,
    DEFAULT_STEPS,
    FinetuneSpec,
)
from minigpt.finetune.tasks import INSTRUCTIONS
from minigpt.finetune.trainer import METHODS

FT_BASE = "finetune.base"  # the base model's name (the shipped one or a session model)
FT_TASK = "finetune.task"
FT_METHOD = "finetune.method"  # "lora" | "full"
FT_RANK = "finetune.rank"
FT_MASK = "finetune.mask"  # True: the loss counts the answer only
FT_STEPS = "finetune.steps"
FT_LR = "finetune.learning_rate"
FT_EVAL_ITEMS = "finetune.eval_items"
FT_BATCH = "finetune.batch_size"
FT_EXAMPLE = "finetune.example"  # which training question the mask drawing shows
FT_START = "finetune.start"  # buttons, keyed so browser tests can find them
FT_STOP = "finetune.stop"
FT_RESET = "finetune.reset"
FT_USE = "finetune.use"
_FT_BOX = "finetune.session"  # this session's run, its results and messages


# What a link to the page carries (see lab/links.py): the form, not the base model (a
# session's own model cannot travel in a link) nor the run. Ranges are the widgets'; the
# request is still checked against the server's limits before Start.
LINK: tuple[links.Param, ...] = (
    links.Param(FT_TASK, "task", links.choice(INSTRUCTIONS), "play"),
    links.Param(FT_METHOD, "method", links.choice(METHODS), "lora"),
    links.Param(FT_RANK, "rank", links.integer(0, 4096), 8),
    links.Param(FT_MASK, "mask", links.flag, True),
    links.Param(FT_STEPS, "steps", links.integer(0, 1_000_000), DEFAULT_STEPS),
    links.Param(FT_LR, "learning_rate", links.real(0.0, 1000.0), DEFAULT_LR["lora"]),
    links.Param(FT_BATCH, "batch_size", links.integer(0, 100_000), DEFAULT_BATCH),
    links.Param(FT_EVAL_ITEMS, "questions", links.integer(0, 100_000), DEFAULT_EVAL_ITEMS),
    links.Param(FT_EXAMPLE, "example", links.integer(0, 100_000), 0),
)


MAX_SUMMARIES = 20  # runs kept in the comparison table (one row each); the oldest are let go


@dataclass(eq=False)
class FinetuneBox:
    """One session's fine-tuning: the current run, and a summary of each run it kept."""

    run: FinetuneRun | None = None
    name: str = ""
    base_name: str = ""  # the model the current run fine-tunes
    started: int = 0  # runs started in this session, for their names
    kept_at: int = -1  # steps_done when the current run was last summarised
    model_name: str | None = None  # the current run's model in the sidebar, once added
    summaries: list[Summary] = field(default_factory=list)
    view: RunView | None = None  # the run's numbers as last read, under its lock
    message: str | None = None  # why the last Start was refused (shown once)
    notice: str | None = None  # a one-off confirmation


def defaults(shipped: str) -> None:
    """Seed the form's widgets (written back every run, as on the other pages)."""
    state.seed(
        {
            FT_BASE: shipped,
            FT_TASK: "play",
            FT_METHOD: "lora",
            FT_RANK: 8,
            FT_MASK: True,
            FT_STEPS: DEFAULT_STEPS,
            FT_LR: DEFAULT_LR["lora"],
            FT_EVAL_ITEMS: DEFAULT_EVAL_ITEMS,
            FT_BATCH: DEFAULT_BATCH,
            FT_EXAMPLE: 0,
        }
    )


def fall_back_base(names: list[str], shipped: str) -> None:
    """Pick the shipped model when the chosen base is gone (a session model that was reset)."""
    if st.session_state.get(FT_BASE) not in names:
        st.session_state[FT_BASE] = shipped


def method_changed() -> None:
    """The method box's callback: each method starts from its own usual learning rate."""
    st.session_state[FT_LR] = DEFAULT_LR.get(st.session_state[FT_METHOD], DEFAULT_LR["lora"])


def task_name() -> str:
    return st.session_state.get(FT_TASK, "play")


def method() -> str:
    return st.session_state.get(FT_METHOD, "lora")


def training_elsewhere() -> bool:
    """Whether this session's trainer (Live training or Compare) is training now."""
    other = state.trainer()
    return bool(other is not None and other.running)


def base_name() -> str:
    return st.session_state[FT_BASE]


def spec() -> FinetuneSpec:
    """The form's values as one frozen request (checked later, against the base model)."""
    S = st.session_state
    return FinetuneSpec(
        task=S[FT_TASK],
        method=S[FT_METHOD],
        rank=int(S[FT_RANK]),
        mask_instruction=bool(S[FT_MASK]),
        max_iters=int(S[FT_STEPS]),
        learning_rate=float(S[FT_LR]),
        eval_items=int(S[FT_EVAL_ITEMS]),
        batch_size=int(S[FT_BATCH]),
    )


def mask_on() -> bool:
    return bool(st.session_state.get(FT_MASK, True))


def clamp_example(n_items: int) -> None:
    """Keep the drawn question among the task's n_items (a link or another task may not)."""
    if not 0 <= st.session_state.get(FT_EXAMPLE, 0) < n_items:
        st.session_state[FT_EXAMPLE] = 0


def example_index() -> int:
    return int(st.session_state.get(FT_EXAMPLE, 0))


def box() -> FinetuneBox:
    """This session's fine-tuning box (never shared across sessions)."""
    found = box_in(st.session_state)
    if found is None:
        found = st.session_state[_FT_BOX] = FinetuneBox()
    return found


def current_run() -> FinetuneRun | None:
    """This session's fine-tune, if it started one (the box is not made for asking)."""
    found = box_in(st.session_state)
    return None if found is None else found.run


def box_in(session: MutableMapping[str, Any]) -> FinetuneBox | None:
    """The box kept in a given session state, if any (tests read an AppTest's)."""
    return session.get(_FT_BOX)

"""The Fine-tune page's training: Start / Stop / Reset, the background thread, and the panel
that polls it once a second while it trains.

The run trains on this session's BackgroundTrainer (lab/engine/background.py, made per session
by lab/cache/trainers.py and stopped when the session ends), under the server's trainer slots.
The page only reads what the run records, under the trainer's lock, so it never sees a half-done
step.
"""

from __future__ import annotations

import streamlit as st

from lab import cache, state
from lab.charts import finetune as ft_charts
from lab.engine.background import BackgroundTrainer
from lab.engine.budget import MAX_RUNS_PER_SESSION
from lab.engine.finetune_run import FinetuneRun, phase
from lab.engine.models import LabModel
from lab.engine.turns import locked_in_turn
from lab.finetune import state as ft_state
from lab.finetune.results import answers_table, run_metrics
from lab.finetune.setup import Setup
from lab.fragments import fragment

POLL_SECONDS = 1.0  # how often the live panel redraws while the run trains
LOCK_SECONDS = 5.0  # the longest a click waits for the current slice to finish
READ_SECONDS = 0.3  # the longest a redraw waits for fresh numbers before drawing the last ones


def _bg() -> BackgroundTrainer:
    return cache.finetune_trainer()


def is_training() -> bool:
    return _bg().running


# ---------------------------------------------------------------- buttons


def _start(setup: Setup) -> None:
    box, bg = ft_state.box(), _bg()
    box.message = None
    if ft_state.training_elsewhere():
        box.message = (
            f"Can't start: this session is training on the Live training page. On this shared "
            f"server a session trains {MAX_RUNS_PER_SESSION} thing at a time: stop it there first."
        )
        return
    run = box.run
    if run is None or run.done:
        if setup.problems or setup.base is None:
            box.message = "Can't start: " + "; ".join(setup.problems) + "."
            return
        base = setup.base
        try:
            run = FinetuneRun(base.model, base.tokenizer, setup.task, setup.spec)
        except ValueError as e:  # no question fits the model's context, say
            box.message = f"Can't start: {e}."
            return
        box.started += 1
        box.run, box.kept_at, box.model_name, box.view = run, -1, None, None
        box.name = f"Run {box.started}: {setup.task.name}, {setup.spec.label()}"
        box.base_name = base.name
    bg.start(run)


def _stop() -> None:
    box = ft_state.box()
    _bg().stop()
    _settle(box)


def _reset() -> None:
    box = ft_state.box()
    _bg().stop()
    _settle(box)
    box.run, box.kept_at, box.model_name, box.message = None, -1, None, None
    box.view = None


def _use() -> None:
    """Make the run's model (as it is now) the sidebar's model for every page."""
    box = ft_state.box()
    name = _add_model(box, select=True)
    if name:
        box.notice = f"**{name}** is now the model every page shows (pick another in the sidebar)."


def controls(setup: Setup) -> None:
    """Start (Resume for a stopped run), Stop, Reset and Use this model, and any refusal."""
    box, bg = ft_state.box(), _bg()
    running, run = bg.running, box.run
    resumable = run is not None and not run.done
    cols = st.columns([1, 1, 1, 2, 3], vertical_alignment="center")
    cols[0].button(
        "Resume" if resumable else "Start",
        key=ft_state.FT_START,
        type="primary",
        width="stretch",
        on_click=_start,
        args=(setup,),
        disabled=running or (not resumable and bool(setup.problems)),
    )
    cols[1].button(
        "Stop", key=ft_state.FT_STOP, on_click=_stop, disabled=not running, width="stretch"
    )
    cols[2].button(
        "Reset",
        key=ft_state.FT_RESET,
        on_click=_reset,
        disabled=run is None,
        width="stretch",
        help="Forget this run (its summary stays in the comparison below).",
    )
    cols[3].button(
        "Use this model",
        key=ft_state.FT_USE,
        on_click=_use,
        disabled=run is None or run.steps_done == 0 or running,
        width="stretch",
        help="The fine-tuned model as it is now becomes the sidebar's model for every page.",
    )
    if resumable and not running:
        cols[4].caption("Resume goes on with this run's settings; Reset to use the form's.")
    if box.message:
        st.error(box.message)
        box.message = None
    if box.notice:
        st.success(box.notice)
        box.notice = None


# ---------------------------------------------------------------- keeping results


def _settle(box: ft_state.FinetuneBox) -> bool:
    """Summarise a run that stopped or finished (once per step count), and hand a finished
    run's model to the sidebar; True if anything new was kept."""
    run, bg = box.run, _bg()
    if run is None or bg.running or run.steps_done in (0, box.kept_at):
        return False
    with locked_in_turn(bg.lock, LOCK_SECONDS) as locked:
        if not locked:
            return False  # a slice is still finishing; the next run of the page keeps it
        summary = run.summary(box.name)
        kept = [s for s in box.summaries if s.name != box.name] + [summary]
        box.summaries = kept[-ft_state.MAX_SUMMARIES :]
        box.kept_at = run.steps_done
    if run.done and run.failure is None:
        name = _add_model(box)
        box.notice = f"**{name}** is in the sidebar's model choice, for every page."
    return True


def _add_model(box: ft_state.FinetuneBox, select: bool = False) -> str | None:
    """Add the run's model as it is now to the session's models; its name.

    Only a button's callback may select it: the sidebar's choice is a widget, already drawn
    when the page body runs."""
    run, bg = box.run, _bg()
    if run is None or run.steps_done == 0:
        return None
    with locked_in_turn(bg.lock, LOCK_SECONDS) as locked:
        if not locked:
            return None
        model = run.merged_model()
        steps = run.steps_done
    name = f"Fine-tuned: {box.name} (step {steps:,})"
    state.add_session_model(name, LabModel(name, model, run.tokenizer), select=select)
    box.model_name = name
    return name


# ---------------------------------------------------------------- the live panel


def live_panel() -> None:
    """The run's numbers, charts and answers; redrawn every POLL_SECONDS while it trains."""
    running = _bg().running
    fragment(_panel, run_every=POLL_SECONDS if running else None)(running)


def _panel(was_running: bool) -> None:
    box, bg = ft_state.box(), _bg()
    if _settle(box) or was_running != bg.running:
        st.rerun()  # the run ended: redraw the buttons, the sidebar and the comparison
    run = box.run
    if run is None:
        st.info(
            "Press **Start** to fine-tune. The untuned model answers the held-out questions "
            "first, then the charts fill in as it learns; Stop and Resume whenever you like."
        )
        return
    # An evaluation holds the lock for a few seconds: draw the last copy meanwhile.
    with locked_in_turn(bg.lock, READ_SECONDS) as locked:
        if locked:
            box.view = run.view()
    _status(box, bg, run)
    view = box.view
    if view is None:
        st.caption("The untuned model is answering the held-out questions…")
        return
    run_metrics(view)
    cols = st.columns(2)
    cols[0].plotly_chart(
        ft_charts.loss_figure(
            view.losses, view.answer_losses, view.mask_instruction, view.max_iters
        ),
        key="finetune.loss",
    )
    cols[1].plotly_chart(
        ft_charts.accuracy_figure(
            view.evals, view.majority, view.untuned, view.asked, view.max_iters
        ),
        key="finetune.accuracy",
    )
    st.caption(
        "Loss: the training batch's mean loss over the tokens it counts ("
        + ("the answers only" if view.mask_instruction else "every token, the mask is off")
        + "), and at each evaluation the held-out answers' loss, over answer tokens only "
        "whatever the switch says, so runs with the mask on and off compare on it. Accuracy: "
        f"exact match on the first {view.asked} held-out questions; the majority answer "
        "and the untuned model are scored on the same questions."
    )
    answers_table(run.heldout, view.before, view.after, view.after_step)


def _status(box: ft_state.FinetuneBox, bg: BackgroundTrainer, run: FinetuneRun) -> None:
    done, total = run.steps_done, run.spec.max_iters
    match phase(run, bg):
        case "error":
            st.error(f"{bg.error}. The model keeps its last good weights.")
        case "diverged":
            st.error(f"**Fine-tuning stopped.** {run.failure}")
        case "queued":
            others = f"{bg.waiting} other session{'s are' if bg.waiting > 1 else ' is'}"
            st.warning(f"{others} training; yours starts when one finishes — keep this tab open.")
        case "training":
            st.info(f"Fine-tuning {box.name}: step {done:,} of {total:,}.")
        case "finished":
            st.success(f"{box.name} finished: {total:,} steps.")
        case _:
            st.info(f"{box.name} is stopped at step {done:,} of {total:,}. Press Resume to go on.")

"""The Live training page's training: Start, Stop and Reset, and the fragment that draws the run
as it trains (the setup is in setup.py, the heads' replay in heads.py, keeping the result in
keep.py).

The run trains on this session's background thread (lab/live.py), so it goes on while the
student looks at other pages; this page only reads it, in a fragment that polls while it
trains. The run lives in this session's state, so no other tab sees it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pyarrow as pa
import streamlit as st

from lab import charts, live, state
from lab.engine.liverun import LiveRun
from lab.engine.models import LabModel
from lab.engine.runs import RunRecord
from lab.engine.runspec import RunError, RunSpec
from lab.engine.session import SessionTrainer
from lab.engine.turns import locked_in_turn
from lab.fragments import fragment
from lab.training import induction
from lab.training import state as train_state
from lab.training.preview import duration, logging_plan, shown_costs
from lab.training.setup import Setup

_CURVE_SCHEMA = pa.schema(
    [("step", pa.float64()), ("value", pa.float64()), ("series", pa.string())]
)


@dataclass(eq=False)
class Session:
    """The training page's box: its run, and what the page says about it.

    `message` also says why a Continue or Explore of an uploaded checkpoint was refused.
    """

    run: LiveRun | None = None
    name: str = ""
    message: str | None = None  # why the last Start was refused (shown once)
    notice: str | None = None  # a one-off confirmation ("now the sidebar's model")
    kept_at: int = -1  # steps_done when this run was last kept for the compare page
    started: int = 0  # runs started in this session, for their names

    trainer: SessionTrainer | None = None  # this session's thread, set on every access

    @property
    def running(self) -> bool:
        """Training (or queued for a trainer slot) on this session's thread now."""
        return self.trainer is not None and self.trainer.trains(self.run)

    @property
    def stopping(self) -> bool:
        """Stopped, and the thread is finishing the slice it was in."""
        return self.trainer is not None and self.trainer.finishing(self.run)

    @property
    def waiting(self) -> int:
        """Other sessions training while this one waits for a slot (0 when not queued)."""
        return self.trainer.trainer.waiting if self.running else 0


def session() -> Session:
    box = train_state.training_session(Session)
    box.trainer = live.session()
    return box


def is_training() -> bool:
    """Whether this session is training now (the preview then skips timing steps)."""
    return live.session().running


# ---------------------------------------------------------------- training


def _start(setup: Setup) -> None:
    box = session()
    box.message = None
    if busy := state.busy_training("Training", box):
        box.message = f"Can't start: {busy}."
        return
    if box.run is None:
        if setup.problems or setup.spec is None:
            box.message = "Can't start: " + "; ".join(setup.problems)
            return
        try:
            run = LiveRun(setup.spec, setup.text, tokenizer=setup.tokenizer, data=setup.data)
        except RunError as e:
            box.message = "Can't start: " + "; ".join(e.problems)
            return
        # As often as the preview's estimate counted: a small model would otherwise spend much
        # of a short run writing samples (the costs were measured for the preview and kept).
        every, _ = logging_plan(setup, shown_costs(setup), state.sampling().max_new_tokens)
        run.set_log_every(every)
        box.started += 1
        box.run, box.name, box.kept_at = run, f"Live run {box.started}", -1
    if box.run.done:
        return
    box.run.sampling = state.sampling()  # the thread logs samples with these settings
    paused = live.start(box.name, box.run)
    if paused:
        box.notice = f"{paused} is paused while this run trains (one run at a time per session)."


def reset() -> None:
    """Forget this session's run (it stays on the Compare page as a RunRecord)."""
    box = session()
    live.forget(box.run)
    box.run, box.message, box.kept_at = None, None, -1


def controls(setup: Setup) -> None:
    """Start (or Resume), Stop and Reset; and keep a run that stopped for the compare page."""
    box = session()
    if not box.running and not box.stopping:
        _keep(box)
    run = box.run
    note = live.buttons(
        run,
        (train_state.TRAIN_START, train_state.TRAIN_STOP, train_state.TRAIN_RESET),
        _start,
        reset,
        start_args=(setup,),
        can_start=not setup.problems if run is None else not run.done,
        reset_help="Forget this run (it stays on the Compare page) and "
        "set up a new one with the settings above.",
    )
    if run is not None and setup.spec is not None and _differs(run.spec, setup.spec):
        note.caption(
            "The run below was set up with other settings; Reset to train one "
            "with the settings above."
        )
    elif box.running:
        note.caption("It trains on while you visit other pages; the sidebar shows how far.")
    if box.message:
        st.error(box.message)
        box.message = None  # said once; the next interaction starts afresh


def _differs(a: RunSpec, b: RunSpec) -> bool:
    return dataclasses.replace(a, model=a.model.replace(vocab_size=1)) != dataclasses.replace(
        b, model=b.model.replace(vocab_size=1)
    )


def live_panel() -> None:
    """The run's numbers, charts and samples, in a fragment that redraws every POLL_SECONDS
    while the run trains (and not at all once it stops)."""
    every = live.poll_every(session().run)
    fragment(_live, run_every=every)()


def _live() -> None:
    # One container, so the fragment takes one place on the page however many elements it
    # draws: a fragment rerun that draws more than the full run did would otherwise write
    # over the elements that follow it.
    live.await_last_step(session().run)
    with st.container():
        _live_body()
    live.redraw_when_ended()


def _live_body() -> None:
    box = session()
    if box.run is None:
        st.info(
            "Press **Start** to train the model set up above. Charts, samples and the heads "
            "below fill in as it learns; Stop and Resume whenever you like."
        )
        return
    _draw(box)


def _draw(box: Session) -> None:
    run = box.run
    done, total = run.steps_done, run.max_iters
    if run.failure:
        st.error(
            f"**Training stopped.** {run.failure} The model keeps its last good weights: "
            "use it, download it, or Reset and try again."
        )
    elif (error := live.error_of(run)) is not None:
        st.error(f"{error}. The model keeps its weights from the step before.")
    elif box.stopping:
        st.info(f"Stopping {box.name} after its current step (step {done:,} of {total:,})…")
    elif box.running and box.waiting:
        others = f"{box.waiting} other session{'s are' if box.waiting > 1 else ' is'}"
        st.warning(f"{others} training; yours starts when one finishes — keep this tab open.")
    elif box.running:
        st.info(f"Training {box.name}: step {done:,} of {total:,}.")
    elif run.done:
        st.success(f"{box.name} finished: {total:,} steps in {duration(run.clock.seconds)}.")
    else:
        st.info(f"{box.name} is stopped at step {done:,} of {total:,}. Press Resume to go on.")
    rows = run.metrics_rows()
    evals = [r for r in rows if r.get("val_loss") is not None]
    last = rows[-1] if rows else {}
    eta = run.eta_seconds() if box.running else None  # a stopped run is not on its way
    speed = run.tokens_per_second()
    cols = [*st.columns(3), *st.columns(3)]  # two rows: six in one are cut off on a projector
    cols[0].metric("Step", f"{done:,} / {total:,}")
    cols[1].metric("Elapsed", duration(run.clock.seconds))
    cols[2].metric("Tokens / s", "—" if speed is None else f"{speed:,.0f}")
    cols[3].metric(
        "ETA",
        "—" if eta is None else duration(eta),
        help="Training time left at the recent pace, while the run trains.",
    )
    cols[4].metric("Learning rate", f"{last['lr']:.2e}" if last.get("lr") is not None else "—")
    cols[5].metric(
        "Validation loss",
        f"{evals[-1]['val_loss']:.3f}" if evals else "—",
        help="Mean loss on held-out text, in nats per token; its perplexity is exp(loss).",
    )
    st.progress(min(1.0, done / total))
    formed = induction.formed_step(run)
    for column, (name, (spec, data)) in zip(
        st.columns(3),
        zip(("loss", "ppl", "lr"), charts.training_panels(rows, total, formed), strict=True),
        strict=True,
    ):
        table = pa.table(
            {k: [d[k] for d in data] for k in ("step", "value", "series")}, schema=_CURVE_SCHEMA
        )  # Arrow directly: a DataFrame per redraw cost more than the drawing (RESULTS.md)
        column.vega_lite_chart(table, spec, height=250, key=f"training.{name}")
    st.caption(
        ":gray[**━ training batch**] (each step's own loss) · :blue[**━ train**] and "
        ":red[**━ validation**] (averaged over many batches every "
        f"{run.spec.train.eval_interval:,} steps; validation text is never trained on) · "
        ":green[**━ learning rate**]"
        + (" · :red[**┆ an induction head formed**]" if formed is not None else "")
    )
    _heads_line(run)
    induction.forming_section(run)
    st.markdown("**Samples** from the same prompt and seed, so only the weights change:")
    with st.container(height=260):
        log = "\n\n".join(f"── step {step:,} ──\n{text}" for step, text in reversed(run.samples))
        st.code(
            log or "(the first sample comes with the first step)", language=None, wrap_lines=True
        )


def _heads_line(run: LiveRun) -> None:
    if not run.snapshots:
        return
    view = run.snapshots[-1].view
    parts = []
    for name, scores in (("previous-token", view.previous_token), ("induction", view.induction)):
        layer, head = divmod(int(scores.argmax()), scores.shape[1])
        parts.append(f"strongest {name} head: layer {layer} head {head} ({scores.max():.2f})")
    st.caption(f"Heads at step {run.snapshots[-1].step:,}: " + "; ".join(parts) + ".")


def _keep(box: Session) -> None:
    """Keep a stopped or finished run as a RunRecord for the compare page (once per step)."""
    run = box.run
    if run is None or run.steps_done in (0, box.kept_at):
        return
    with locked_in_turn(live.session().lock, 1) as locked:
        if not locked:
            return  # a slice is still finishing; the full redraw after it keeps the run
        metrics = run.metrics_rows()
        name = box.name
        model = LabModel(
            f"{name} (step {run.steps_done:,})", run.frozen_model(), run.tokenizer, metrics
        )
        record = RunRecord(
            name=name,
            config=run.spec.model,
            train_config=run.spec.train,
            tokenizer_kind=run.spec.tokenizer,
            corpus_key=run.spec.corpus_key,
            metrics=metrics,
            samples=list(run.samples),
            model=model,
            seconds_per_step=run.clock.seconds / run.clock.steps if run.clock.steps else None,
        )
        state.add_finished_run(record)
        box.kept_at = run.steps_done

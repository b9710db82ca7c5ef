"""The training page's "Grow an induction head" preset and the section that shows the phase
change while the run trains: the in-context gap and every head's scores over steps."""

from __future__ import annotations

import dataclasses

import streamlit as st

from lab.charts import induction as charts
from lab.engine.liverun import LiveRun
from lab.engine.runspec import RunSpec
from lab.training import state as train_state
from minigpt.analysis.forming import FORMED
from minigpt.training.repeats import LIVE_INDUCTION


def preset_box() -> None:
    """A tick box that fills in the recipe and makes the run train on repeated spans."""
    st.checkbox(
        "Grow an induction head",
        key=train_state.TRAIN_INDUCTION,
        on_change=train_state.apply_induction_preset,
        args=(LIVE_INDUCTION.model.to_dict(), LIVE_INDUCTION.train.to_dict()),
        help="Every training window holds a span of random characters followed at once by the "
        "same span, so only copying predicts the repeat; a 2-layer RoPE model is filled in. "
        "Validation still measures the plain text. The heads' scores are recorded at each "
        "evaluation and drawn below while it trains.",
    )


def with_repeats(spec: RunSpec | None) -> RunSpec | None:
    """The spec as the form made it, with the recipe's repeats when the box is ticked."""
    if spec is None or not train_state.grows_induction():
        return spec
    return dataclasses.replace(
        spec,
        repeat_fraction=LIVE_INDUCTION.repeat_fraction,
        random_fraction=LIVE_INDUCTION.random_fraction,
    )


def formed_step(run: LiveRun) -> int | None:
    """The step at which some head's induction score first reached FORMED (None: not yet, or a
    run without repeats); the loss chart and the forming section mark it."""
    return None if run.forming is None else run.forming.first_step_above(FORMED)


def forming_section(run: LiveRun) -> None:
    """The phase change so far (nothing until the first evaluation of a repeat run)."""
    trace = run.forming
    if trace is None:
        return
    st.subheader("An induction head forming")
    if not trace.points:
        st.caption(f"Appears after the first evaluation (step {run.spec.train.eval_interval:,}).")
        return
    formed = formed_step(run)
    steps = trace.steps
    best = trace.points[-1].best_induction
    st.caption(
        f"Best induction score at step {steps[-1]:,}: {best:.2f}. "
        + (
            f"A head first scored {FORMED} or more at step {formed:,} (the dashed line here "
            "and on the loss chart above)."
            if formed is not None
            else f"No head has reached {FORMED} yet."
        )
    )
    copies = [p.copy for p in trace.points]
    if all(c is not None for c in copies):
        st.plotly_chart(
            charts.copy_gap_chart(
                steps, [c.first_copy for c in copies], [c.second_copy for c in copies], formed
            ),
            key=f"training.forming.gap.{steps[-1]}",
        )
        st.caption(
            "Mean loss per token (nats) on the same held-out passages written twice, over the "
            "first and the second copy (each copy's first token left out). When a copying head "
            "forms, the second copy's loss falls below the first: the in-context gap."
        )
    left, right = st.columns(2)
    left.plotly_chart(
        charts.scores_over_steps(steps, trace.stacked("induction").numpy(), "Induction", formed),
        key=f"training.forming.induction.{steps[-1]}",
    )
    right.plotly_chart(
        charts.scores_over_steps(
            steps, trace.stacked("previous_token").numpy(), "Previous-token", formed
        ),
        key=f"training.forming.previous.{steps[-1]}",
    )
    st.caption(
        "Every head's score (rows) at every evaluation (columns), on random segments repeated "
        "once. Induction: attention to the token after an earlier copy of the current one. "
        "Previous-token: attention to the token just before. A previous-token head in layer 0 "
        "usually comes first; the induction head in layer 1 builds on it."
    )

"""The Live training page's replay of the heads forming: the attention maps on a fixed probe
text, and each head's previous-token and induction scores, at every snapshot the run kept."""

from __future__ import annotations

import numpy as np
import streamlit as st

from lab import charts, live
from lab.engine.views import token_labels
from lab.fragments import fragment
from lab.training import state as train_state
from lab.training.loop import session

HEADS_SECONDS = 5.0  # while the run trains, the heads look for new snapshots this often


def heads_replay() -> None:
    """Replay the probe text's attention maps and each head's scores over training time.

    A fragment that polls while the run trains, so new snapshots appear as they are taken;
    its slider and layer picker rerun only the fragment, so they stay usable mid-run.
    """
    fragment(_heads, run_every=live.poll_every(session().run, HEADS_SECONDS))()


def _heads() -> None:
    with st.container():  # one place on the page, as for the live fragment
        _heads_body()
    live.redraw_when_ended()


def _heads_body() -> None:
    run = session().run
    if run is None or not run.snapshots:
        st.info(
            "Start a run: every few steps the heads' attention on a fixed text is kept "
            "here, so you can replay how they form."
        )
        return
    snaps = list(run.snapshots)
    cfg = run.spec.model
    train_state.clamp_training_replay(len(snaps), cfg.n_layer)
    left, right = st.columns([3, 1])
    i = left.select_slider(
        "Training step",
        options=list(range(len(snaps))),
        key=train_state.TRAIN_REPLAY,
        format_func=lambda j: f"step {snaps[j].step:,}",
    )
    layer = right.radio(
        "Layer",
        list(range(cfg.n_layer)),
        key=train_state.TRAIN_REPLAY_LAYER,
        horizontal=True,
        format_func=lambda n: f"{n}",
    )
    labels = token_labels(run.tokenizer, run.probe_ids)
    maps = snaps[i].view.maps[layer].astype("float32")
    fig = charts.attention_grid(maps, labels, layer)
    fig.update_layout(
        title=f"Every head of layer {layer} at step {snaps[i].step:,}, on the probe text",
        margin=dict(t=80),
    )  # room for the title above the heads' own titles
    st.plotly_chart(fig, key="training.heads")
    steps = [s.step for s in snaps]
    prev = _stack([s.view.previous_token for s in snaps])
    induction = _stack([s.view.induction for s in snaps])
    st.plotly_chart(charts.head_scores_over_training(steps, prev, induction), key="training.scores")
    st.caption(
        f"{len(snaps)} snapshots, one every {run.snapshot_every:,} steps. At step 0 every head "
        "spreads its attention evenly. A previous-token head soon puts its weight just left of "
        "the diagonal; an induction head, which needs one in an earlier layer, looks in the "
        "second copy of the line at what followed the same text in the first. While training "
        "runs, new snapshots join the slider as they are taken."
    )


def _stack(arrays: list[np.ndarray]) -> np.ndarray:
    return np.stack(arrays).astype(float)  # (snapshots, n_layer, n_head)

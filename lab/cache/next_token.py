"""The Next token page's caches: one logits row, surprise over a text, the logit lens, and the
Vega-Lite specs of its two linked views."""

from __future__ import annotations

import numpy as np
import streamlit as st

from lab.cache.keys import BY_KEY
from lab.charts import next_token_linked as nt_linked
from lab.engine.models import LabModel
from lab.next_token import views as nt_views


@st.cache_data(max_entries=256, show_spinner=False, hash_funcs=BY_KEY)
def next_token_logits(lab_model: LabModel, ids: tuple[int, ...]) -> np.ndarray:
    """The next-token logits (V,) after ids."""
    return nt_views.logits_for(lab_model.model, list(ids))


@st.cache_data(max_entries=64, show_spinner="Measuring the model's surprise…", hash_funcs=BY_KEY)
def next_token_surprise(lab_model: LabModel, ids: tuple[int, ...]) -> nt_views.SurpriseView:
    """Surprise at every token of ids after the first."""
    return nt_views.surprise_view(lab_model.model, lab_model.tokenizer, list(ids))


@st.cache_data(max_entries=64, show_spinner="Reading every layer (logit lens)…", hash_funcs=BY_KEY)
def next_token_lens(
    lab_model: LabModel, ids: tuple[int, ...], n_positions: int
) -> nt_views.LensView:
    """The logit lens over the last n_positions of ids.

    No private copy is needed: the lens's hooks record only this thread's pass (see
    minigpt.analysis.lens), though they are on the model every session shares for that moment.
    """
    return nt_views.lens_view(lab_model.model, lab_model.tokenizer, list(ids), n_positions)


# Vega-Lite specs of the two linked views. Building an altair chart and turning it into a spec
# takes ~0.25 s, longer than everything else on the page; their data changes only with the
# text, so a slider move must not pay for it again. Schema validation is skipped here (it is
# a third of the cost); tests/test_next_token_charts.py validates both charts once.


@st.cache_data(max_entries=64, show_spinner=False, hash_funcs=BY_KEY)
def next_token_surprise_spec(lab_model: LabModel, ids: tuple[int, ...]) -> dict:
    """The surprise strip and its alternatives, as a Vega-Lite spec."""
    view = next_token_surprise(lab_model, ids)
    return nt_linked.surprise_chart(
        view.labels, view.nats, view.top_labels, view.top_probs
    ).to_dict(validate=False)


@st.cache_data(max_entries=64, show_spinner=False, hash_funcs=BY_KEY)
def next_token_lens_spec(
    lab_model: LabModel, ids: tuple[int, ...], n_positions: int
) -> tuple[dict, int]:
    """The lens grid and its linked column views as a Vega-Lite spec, and the columns shown."""
    v = next_token_lens(lab_model, ids, n_positions)
    chart = nt_linked.lens_chart(
        v.labels, v.positions, v.top_labels, v.top_probs, v.final_labels, v.final_rank
    )
    return chart.to_dict(validate=False), len(v.labels)

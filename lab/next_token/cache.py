"""The Next token page's cached computations, keyed by the model's key and the token ids.

Kept beside the page rather than in lab/cache.py while the layout is being reorganised; the
convention is the same: the model's `LabModel.key` for hashing, the object itself unhashed.
The sampling settings are not part of any key: a slider move reuses the cached logits and
only redoes the cheap stages (see views.stages_view).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from lab.charts import next_token as nt_charts
from lab.engine.models import LabModel
from lab.next_token import views


@st.cache_data(max_entries=256, show_spinner=False)
def logits(model_key: str, _lab_model: LabModel, ids: tuple[int, ...]) -> np.ndarray:
    """The next-token logits (V,) after ids."""
    return views.logits_for(_lab_model.model, list(ids))


@st.cache_data(max_entries=64, show_spinner="Measuring the model's surprise…")
def surprise(model_key: str, _lab_model: LabModel, ids: tuple[int, ...]) -> views.SurpriseView:
    """Surprise at every token of ids after the first."""
    return views.surprise_view(_lab_model.model, _lab_model.tokenizer, list(ids))


@st.cache_data(max_entries=64, show_spinner="Reading every layer (logit lens)…")
def lens(
    model_key: str, _lab_model: LabModel, ids: tuple[int, ...], n_positions: int
) -> views.LensView:
    """The logit lens over the last n_positions of ids.

    No private copy is needed: the lens's hooks record only this thread's pass (see
    minigpt.analysis.lens), though they are on the model every session shares for that moment.
    """
    return views.lens_view(_lab_model.model, _lab_model.tokenizer, list(ids), n_positions)


# Vega-Lite specs of the two linked views. Building an altair chart and turning it into a spec
# takes ~0.25 s, longer than everything else on the page; their data changes only with the
# text, so a slider move must not pay for it again. Schema validation is skipped here (it is
# a third of the cost); tests/test_page_next_token.py validates both charts once.


@st.cache_data(max_entries=64, show_spinner=False)
def surprise_spec(model_key: str, _lab_model: LabModel, ids: tuple[int, ...]) -> dict:
    """The surprise strip and its alternatives, as a Vega-Lite spec."""
    view = surprise(model_key, _lab_model, ids)
    return nt_charts.surprise_chart(
        view.labels, view.nats, view.top_labels, view.top_probs
    ).to_dict(validate=False)


@st.cache_data(max_entries=64, show_spinner=False)
def lens_spec(
    model_key: str, _lab_model: LabModel, ids: tuple[int, ...], n_positions: int
) -> tuple[dict, int]:
    """The lens grid and its linked column views as a Vega-Lite spec, and the columns shown."""
    v = lens(model_key, _lab_model, ids, n_positions)
    chart = nt_charts.lens_chart(
        v.labels, v.positions, v.top_labels, v.top_probs, v.final_labels, v.final_rank
    )
    return chart.to_dict(validate=False), len(v.labels)

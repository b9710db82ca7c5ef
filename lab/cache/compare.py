"""The Compare page's caches: the shipped comparison, and a run's extrapolation readings."""

from __future__ import annotations

import json

import streamlit as st

from lab.cache.keys import BY_KEY
from lab.cache.shared import ASSETS, default_corpus
from lab.engine.models import LabModel

COMPARE_RESULTS = ASSETS / "compare" / "results.json"


@st.cache_data(show_spinner=False)
def compare_results() -> dict | None:
    """The shipped comparison made by `python -m minigpt.experiments` (None if it is missing)."""
    if not COMPARE_RESULTS.exists():
        return None
    return json.loads(COMPARE_RESULTS.read_text())


@st.cache_data(
    max_entries=32, show_spinner="Measuring the run on longer contexts…", hash_funcs=BY_KEY
)
def run_extrapolation(
    lab_model: LabModel,
    val_fraction: float,
    lengths: tuple[int, ...],
    max_tokens: int,
) -> dict:
    """Both extrapolation readings of a training-page run, on Shakespeare's held-out part.

    The held-out part is the text's last val_fraction, as in training (exactly so for
    characters); characters the model never saw are left out.
    """
    from lab.engine.models import encode_text
    from minigpt.analysis.extrapolation import MODES, extrapolation_losses

    text = default_corpus()
    held_out = text[int(len(text) * (1 - val_fraction)) :][: 16 * max_tokens]
    ids, _ = encode_text(lab_model.tokenizer, held_out)
    # Every model a page reads is in eval mode already (shared ones, and frozen copies of runs).
    return {
        m: extrapolation_losses(lab_model.model, ids, list(lengths), m, max_tokens) for m in MODES
    }

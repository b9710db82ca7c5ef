"""The Attention page's caches: each head's induction score, every head's map on a text, and
the losses with heads switched off."""

from __future__ import annotations

import numpy as np
import streamlit as st

from lab.attention import measure as attn_measure
from lab.cache.keys import BY_KEY
from lab.engine import budget, views
from lab.engine.models import LabModel
from minigpt.analysis.ablation import CopyLosses


@st.cache_data(
    max_entries=32, show_spinner="Measuring induction on repeated random tokens…", hash_funcs=BY_KEY
)
def induction_scores(lab_model: LabModel) -> np.ndarray:
    """Each head's induction score (n_layer, n_head): one per model, whatever the text.

    Measured on as many rows of repeated segments (at most 128 tokens each) as one request's
    budget can capture, at most 12: a big model is scored on fewer rows instead of filling the
    memory.
    """
    cfg = lab_model.model.config
    length = min(cfg.block_size, 128)
    batch = next(
        (b for b in range(12, 1, -1) if budget.tokens_that_fit(cfg, "capture", b) >= length), 1
    )
    return views.induction_scores(lab_model.model, batch=batch)


@st.cache_data(max_entries=128, show_spinner="Running the model on your text…", hash_funcs=BY_KEY)
def attention_view(lab_model: LabModel, ids: tuple[int, ...]) -> views.AttentionView:
    """Every head's attention on these ids, and the per-head scores (cached per model and text)."""
    induction = induction_scores(lab_model)
    return views.attention_for_ids(lab_model.model, list(ids), induction)


@st.cache_data(max_entries=128, show_spinner="Switching heads off…", hash_funcs=BY_KEY)
def ablation_view(
    lab_model: LabModel, ids: tuple[int, ...], heads: tuple[tuple[int, int], ...], mode: str
) -> attn_measure.AblationView:
    """Losses with the heads intact and switched off (cached per model, text, heads, mode)."""

    def shared(length: int, off: tuple[tuple[int, int], ...]) -> CopyLosses:
        return random_copy(lab_model, length, off)

    return attn_measure.ablation_view(
        lab_model.model, list(ids), list(heads), mode, shared_random=shared
    )


@st.cache_data(max_entries=256, show_spinner=False, hash_funcs=BY_KEY)
def random_copy(lab_model: LabModel, length: int, heads: tuple[tuple[int, int], ...]) -> CopyLosses:
    """Losses on random passages written twice, heads intact or zeroed: the same for every text
    whose copy is this long (cached per model, length and heads; most of the panel's work)."""
    return attn_measure.random_copy(lab_model.model, length, list(heads))

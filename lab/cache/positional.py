"""The Positional page's cache: every scheme's table at the size asked for."""

from __future__ import annotations

import streamlit as st

from lab.cache.keys import BY_KEY
from lab.engine import views
from lab.engine.models import LabModel


@st.cache_data(max_entries=64, show_spinner=False, hash_funcs=BY_KEY)
def positional_views(lab_model: LabModel, n_pos: int, width: int) -> views.PositionalViews:
    """Every positional scheme at this size, and the model's learned table if it has one."""
    return views.positional_views(lab_model.model, n_pos, width)

"""The Fine-tune page's caches: a task's questions, whether a model can take them, and the
share of weights a method trains."""

from __future__ import annotations

import streamlit as st

from lab.cache.keys import BY_KEY
from lab.engine import finetune_spec
from lab.engine.models import LabModel
from minigpt.finetune.tasks import TaskSet, build_task


@st.cache_resource(max_entries=8, show_spinner="Making the task's questions from the plays…")
def finetune_task(name: str) -> TaskSet:
    """A task's training and held-out items (frozen, so every session shares them)."""
    return build_task(name)


@st.cache_data(max_entries=64, show_spinner=False, hash_funcs=BY_KEY)
def finetune_readable(lab_model: LabModel, task_name: str) -> str | None:
    """Why this model cannot take the task's questions, or None when it can."""
    return finetune_spec.readable_problem(lab_model.tokenizer, finetune_task(task_name))


@st.cache_data(max_entries=64, show_spinner=False, hash_funcs=BY_KEY)
def finetune_params(lab_model: LabModel, method: str, rank: int) -> tuple[int, int]:
    """(weights that train, all weights) for this method on this model (the rank for LoRA)."""
    spec = finetune_spec.FinetuneSpec(method=method, rank=rank if method == "lora" else 8)
    return finetune_spec.parameter_share(lab_model.model, spec)

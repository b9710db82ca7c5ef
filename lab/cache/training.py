"""The Training page's caches: a run's tokenizer and encoded corpus, and what its steps cost."""

from __future__ import annotations

import streamlit as st

from lab.cache.compact import compacted
from lab.cache.tokenizers import trained_bpe
from lab.engine.estimate import RunCosts, measure_costs_as_trainer
from lab.engine.liverun import LiveRun
from lab.engine.runspec import BPE_TRAIN_CHARS, RunSpec, build_run_tokenizer
from minigpt.tokenizers.bpe import GPT4_SPLIT_PATTERN
from minigpt.training.data import TokenData


@st.cache_resource(max_entries=4, show_spinner="Preparing the tokenizer and encoding the corpus…")
def run_inputs(corpus_key: str, kind: str, vocab_size: int | None, val_fraction: float, _text: str):
    """A run's tokenizer and TokenData, shared by every session (training never changes them).

    BPE goes through the Tokenizers page's shelf: the same slice of the same corpus trains once.
    The corpus is encoded by a copy of the tokenizer: BPE remembers every chunk it has encoded
    (up to its 200,000-character cap), and in the shared tokenizer they would stay for the
    server's life, 32 MB more with the blocks they pin (lab/cache/compact.py).
    """
    if kind == "bpe":
        tokenizer = trained_bpe(_text[:BPE_TRAIN_CHARS], vocab_size, GPT4_SPLIT_PATTERN).tokenizer
    else:
        tokenizer = compacted(build_run_tokenizer(kind, _text, vocab_size))
    return tokenizer, TokenData.from_text(_text, compacted(tokenizer), val_fraction)


COSTS_TTL_SECONDS = 60  # kept this long: the load of a shared server changes within minutes


@st.cache_data(
    max_entries=64,
    ttl=COSTS_TTL_SECONDS,
    show_spinner="Timing a few steps, an evaluation and a sample…",
)
def run_costs(spec: RunSpec, _text: str, _tokenizer, _data) -> RunCosts:
    """What a step, an evaluation batch, a sample token and a head snapshot of this run's shape
    cost here, timed on a throwaway model at the training thread's priority (spec is a
    step_cost_key: the shape alone).

    Kept for a minute, not the server's life: timed once, a shape's costs said what the machine
    was doing when the first student opened the form (estimate / real 0.41-0.92 in the browser).
    """
    return measure_costs_as_trainer(LiveRun(spec, _text, tokenizer=_tokenizer, data=_data))

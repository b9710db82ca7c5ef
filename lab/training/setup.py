"""The Live training page's setup: corpus, tokenizer, model and optimisation settings, checked
in words before anything runs (lab/training/preview.py shows the run they describe)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

from lab import cache
from lab.engine import budget
from lab.engine.run_limits import TOKENIZERS
from lab.engine.runspec import (
    LIVE_MODEL,
    LIVE_TRAIN,
    RunSpec,
    make_spec,
)
from lab.training import induction
from lab.training import state as train_state
from minigpt.config import POS_EMBS, PRESETS
from minigpt.training.corpus import CorpusError, check_text_size

MAX_UPLOAD_BYTES = 5_000_000
LAB_PRESETS = {name: cfg for name, cfg in PRESETS.items() if name.startswith("lab-")}
TOKENIZER_NAMES = {"char": "Characters", "bpe": "BPE", "word": "Words"}
POS_NAMES = {
    "learned": "learned table",
    "sinusoidal": "sinusoidal",
    "rope": "RoPE",
    "alibi": "ALiBi",
    "none": "none",
}


@dataclass(frozen=True, eq=False)
class Setup:
    """The run the form describes, and everything that stops it (empty when it can start)."""

    spec: RunSpec | None
    problems: list[str]
    text: str | None
    corpus_key: str
    tokenizer: object | None = None
    data: object | None = None


def setup_form() -> Setup:
    """Corpus, tokenizer, model and optimisation settings, checked before anything runs."""
    train_state.training_defaults(LIVE_MODEL.to_dict(), LIVE_TRAIN.to_dict())
    left, right = st.columns([3, 2], gap="large")
    with left:
        source = st.radio(
            "Corpus", train_state.TRAIN_SOURCES, key=train_state.TRAIN_SOURCE, horizontal=True
        )
        if source == "Paste text":
            st.text_area(
                "Your corpus",
                key=train_state.TRAIN_PASTE,
                height=120,
                placeholder="Paste a few pages of text…",
            )
        elif source == "Upload a file":
            st.file_uploader(
                f"A plain UTF-8 text file, up to {MAX_UPLOAD_BYTES // 1_000_000} MB",
                key=train_state.TRAIN_UPLOAD,
            )
    with right:
        kind = st.radio(
            "Tokenizer",
            TOKENIZERS,
            key=train_state.TRAIN_TOKENIZER,
            horizontal=True,
            format_func=TOKENIZER_NAMES.get,
        )
        st.number_input(
            "Vocabulary size",
            0,
            100_000,
            step=64,
            key=train_state.TRAIN_VOCAB,
            disabled=kind == "char",
            help="BPE: 256 byte tokens plus one per merge. Words: the most frequent "
            "words kept, the rest become <unk>. Characters need none: every "
            "character of the corpus is a token.",
        )
    induction.preset_box()
    st.markdown("**Model**")
    cols = [*st.columns(4), *st.columns(3)]  # two rows: seven fields in one are cut off
    cols[0].selectbox(
        "Preset",
        list(LAB_PRESETS),
        key=train_state.TRAIN_PRESET,
        on_change=train_state.apply_training_preset,
        args=(LAB_PRESETS,),
        help="Fills in the shape; every field stays editable. lab-live is the "
        "default, measured to write word-like Shakespeare in about three minutes.",
    )
    cols[1].number_input("Layers", 0, 64, key=train_state.TRAIN_LAYERS)
    cols[2].number_input("Heads", 0, 64, key=train_state.TRAIN_HEADS)
    cols[3].number_input(
        "Width",
        0,
        4096,
        step=8,
        key=train_state.TRAIN_WIDTH,
        help="n_embd: the length of every token's vector. Each head gets width / heads.",
    )
    cols[4].number_input(
        "Context length",
        0,
        100_000,
        step=8,
        key=train_state.TRAIN_CONTEXT,
        help="block_size: how many tokens the model reads at once.",
    )
    cols[5].number_input("Dropout", 0.0, 0.9, step=0.05, key=train_state.TRAIN_DROPOUT)
    cols[6].selectbox("Positions", POS_EMBS, key=train_state.TRAIN_POS, format_func=POS_NAMES.get)
    st.markdown("**Optimisation**")
    cols = [*st.columns(3), *st.columns(3)]  # two rows, as above
    cols[0].number_input(
        "Learning rate",
        0.0,
        1000.0,
        step=1e-3,
        format="%g",
        key=train_state.TRAIN_LR,
        help="AdamW's peak step size, reached after warmup; it then falls "
        "along a cosine to a tenth of it.",
    )
    cols[1].number_input("Warmup steps", 0, 100_000, key=train_state.TRAIN_WARMUP)
    cols[2].number_input(
        "Batch size", 0, 4096, key=train_state.TRAIN_BATCH, help="Windows of text per step."
    )
    cols[3].number_input("Steps", 0, 1_000_000, step=100, key=train_state.TRAIN_STEPS)
    cols[4].number_input(
        "Gradient clipping",
        0.0,
        100.0,
        step=0.5,
        format="%g",
        key=train_state.TRAIN_CLIP,
        help="Largest gradient norm allowed (0: off).",
    )
    cols[5].number_input(
        "Seed",
        0,
        2**31 - 1,
        key=train_state.TRAIN_SEED,
        help="The same seed and settings train the same model again.",
    )
    return _check(source)


def _corpus(source: str) -> tuple[str | None, str, list[str]]:
    """(text, its key, problems) for the chosen corpus."""
    if source == train_state.TRAIN_SOURCES[0]:
        return cache.default_corpus(), "shakespeare", []
    if source == train_state.TRAIN_SOURCES[1]:
        try:
            text = check_text_size(
                train_state.pasted_text(), budget.MAX_PASTE_CHARS, "the pasted text"
            )
        except CorpusError as e:
            return None, "paste", [f"Corpus: {e}"]
    else:
        upload = train_state.uploaded_corpus()
        if upload is None:
            return (
                None,
                "upload",
                ["Corpus: choose a text file to train on, or pick another corpus"],
            )
        try:
            text = cache.upload_text(upload.getvalue(), MAX_UPLOAD_BYTES)
        except CorpusError as e:
            return None, "upload", [f"Corpus: {e}"]
    digest = hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()[:16]
    return text, f"text-{digest}", []


def _check(source: str) -> Setup:
    text, key, problems = _corpus(source)
    settings = train_state.training_settings()
    vocab = settings["vocab_size"] if settings["tokenizer"] != "char" else None
    spec, shape = make_spec(settings["model"], settings["train"], settings["tokenizer"], vocab, key)
    problems += shape
    spec = induction.with_repeats(spec)
    if spec is None or text is None or problems:
        return Setup(spec, problems, text, key)
    # Asked on the text's own bounds (distinct characters, the vocabulary asked for, bytes as
    # tokens) before a tokenizer or token ids exist: nothing is built until the budget says yes.
    if problems := spec.problems(text):
        return Setup(spec, problems, text, key)
    try:
        tok, data = cache.run_inputs(key, spec.tokenizer, vocab, spec.train.val_fraction, text)
    except ValueError as e:
        return Setup(spec, [f"Tokenizer: {e}"], text, key)
    return Setup(spec, spec.problems(text, len(data), tok.vocab_size), text, key, tok, data)

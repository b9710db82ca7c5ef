"""The Live training page's setup: corpus, tokenizer, model and optimisation settings, checked
in words before anything runs, and a preview of the run they describe (its parameters by role,
its tokens, and a time per step measured on a throwaway model)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

from lab import cache, live
from lab.engine import budget
from lab.engine.estimate import RunCosts, log_schedule, page_seconds, run_seconds
from lab.engine.logs import logged_sample_tokens
from lab.engine.run_limits import TOKENIZERS
from lab.engine.runspec import (
    LIVE_MODEL,
    LIVE_TRAIN,
    SAMPLE_TOKENS,
    RunSpec,
    make_spec,
)
from lab.training import induction
from lab.training import state as train_state
from minigpt.cli.train import torchrun_command
from minigpt.config import POS_EMBS, PRESETS
from minigpt.shapes import param_breakdown
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


_SHOWN_COSTS = "training.shown_costs"  # (step_cost_key, RunCosts) the preview last showed


def run_costs(setup: Setup) -> RunCosts:
    """What a step, an evaluation, a logged sample and a snapshot of this run cost here
    (measured per run shape and kept a minute: lab/cache/training.py); noted as shown."""
    key = setup.spec.step_cost_key()
    costs = cache.run_costs(key, setup.text, setup.tokenizer, setup.data)
    st.session_state[_SHOWN_COSTS] = (key, costs)
    return costs


def shown_costs(setup: Setup) -> RunCosts:
    """The costs the preview showed for this run's shape (the run logs on the schedule the
    estimate counted, and Start does not wait for a new timing), else run_costs."""
    key, costs = st.session_state.get(_SHOWN_COSTS, (None, None))
    return costs if costs is not None and key == setup.spec.step_cost_key() else run_costs(setup)


def logging_plan(setup: Setup, costs: RunCosts, sample_tokens: int) -> tuple[int, int]:
    """(steps between two logs, new tokens per logged sample) for this run: the schedule the
    estimate counts and the run follows (loop._start hands it to the run)."""
    tokens = logged_sample_tokens(setup.tokenizer, setup.spec.model.block_size, sample_tokens)
    return log_schedule(costs, setup.spec.train.max_iters, tokens), tokens


def preview(setup: Setup, time_it: bool = True, sample_tokens: int = SAMPLE_TOKENS) -> None:
    """What the run will be: parameters by role, tokens, a measured time per step and an
    estimate of the whole run (only when time_it: timing steps while this session trains would
    slow its own run). sample_tokens: how long the logged samples will be."""
    if setup.problems:
        st.error(
            "**Can't start with these settings:**\n\n" + "\n".join(f"- {p}" for p in setup.problems)
        )
        return
    spec, data = setup.spec, setup.data
    cfg = spec.model.replace(vocab_size=setup.tokenizer.vocab_size)
    parts = param_breakdown(cfg)
    total = sum(parts.values())
    cols = [*st.columns(2), *st.columns(2)]  # two rows: four in one are cut off on a projector
    cols[0].metric("Parameters", f"{total:,}")
    cols[1].metric(
        "Tokens in the corpus",
        f"{len(data):,}",
        help=f"{data.n_train:,} to train on, {len(data) - data.n_train:,} held out "
        "to validate on (the last 10%).",
    )
    if not time_it:
        cols[2].metric("Time per step", "—", help="Not measured while this session trains.")
        cols[3].metric("Whole run, estimated", "—", help="The run's own pace is shown below.")
    else:
        costs = run_costs(setup)
        cols[2].metric(
            "Time per step",
            f"{costs.step * 1000:,.0f} ms",
            help="Measured on a throwaway copy of the model, on this server.",
        )
        every, tokens = logging_plan(setup, costs, sample_tokens)
        page = page_seconds(live.POLL_SECONDS)
        seconds = run_seconds(costs, spec.train, every, tokens, page=page)
        cols[3].metric(
            "Whole run, estimated",
            duration(seconds),
            help="An estimate: the steps, plus an evaluation of "
            f"{spec.train.eval_iters} batches every {spec.train.eval_interval:,} steps, plus "
            "the samples and head snapshots logged every few steps, each timed on this server "
            f"in the last minute, plus about {page:.0f} s for the page to start the run and see "
            "it end. A busy server (other runs, a class clicking) takes longer; once training, "
            "the page shows the run's own pace.",
        )
    st.caption(
        "Where the parameters are: "
        + " · ".join(f"{name} {n:,} ({n / total:.0%})" for name, n in parts.items())
        + f". Vocabulary {setup.tokenizer.vocab_size:,} {TOKENIZER_NAMES[spec.tokenizer].lower()}; "
        f"each step reads {spec.train.batch_size} windows of {cfg.block_size} tokens."
    )
    asked, got = spec.vocab_size, setup.tokenizer.vocab_size
    if spec.tokenizer != "char" and asked is not None and got < asked:
        unit = "distinct words" if spec.tokenizer == "word" else "pairs left to merge"
        st.info(
            f"You asked for a vocabulary of {asked:,}; this text has only enough {unit} "
            f"for {got:,}, so the model uses {got:,}."
        )
    with st.expander("Run this bigger"):
        st.caption(
            "The same run shared out over 8 GPUs (or CPU processes) with `torchrun`, from "
            "a clone of this repository; the README's *Train bigger with torchrun* has more."
        )
        corpus = None if setup.corpus_key == "shakespeare" else "your_corpus.txt"
        st.code(
            torchrun_command(
                cfg, spec.train, spec.tokenizer, spec.vocab_size, nproc=8, data=corpus
            ),
            language="bash",
        )


def duration(seconds: float) -> str:
    """Example: duration(83) == "1:23"."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"

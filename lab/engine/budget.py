"""One budget for the whole server: what a request will cost, worked out before it is built.

A class shares one process, and Community Cloud gives an app 690 MB. After one session has
opened every page the app holds 560-615 MB (README, Memory: torch and its kernels, the shipped
model, GPT-4's tokenizer, the encoded plays; shared by every session), which leaves roughly
75-130 MB for the work sessions ask for. So one request (a training run with its preview, an
upload, one page's forward pass) may use REQUEST_BUDGET_MB = 96 MB, and trainers run one or
two at a time (MINIGPT_MAX_TRAINERS; 1 on the smallest allowance). MINIGPT_MEMORY_BUDGET_MB
overrides it on a server with more memory. Page views that fit in it cost a few MB each.

Costs come from lab/engine/costs.py (shapes only, nothing allocated). Over budget, `refusal`
returns a sentence naming the setting to lower and the largest value that fits; the functions
at the end are what each page asks before it builds or runs anything.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace

from lab.engine.costs import Request, costs, size, step_seconds, total_bytes
from minigpt.config import GPTConfig
from minigpt.training.checkpoint_check import CheckpointLimits

REQUEST_BUDGET_MB = 96  # see the module docstring for where this comes from
MAX_CONTEXT = 1024  # tokens a model may train on or be loaded with; attention grows with its square
MAX_LAYERS = 64
MAX_HEADS = 64
MAX_WIDTH = 2048
MAX_VOCAB = 110_000  # room for GPT-4's cl100k table (100,277), not for a 50,000-word table x 1024
MAX_STEP_SECONDS = 5.0  # one step blocks its session for this long: beyond it a page stalls
MAX_RUN_SECONDS = 20 * 60  # one training run's wall time: a lesson has other things to do
MAX_MODELS_PER_SESSION = 4  # models kept in one session's model picker (+ the shipped ones)
MAX_RUNS_PER_SESSION = 1  # one session trains one thing at a time (a compare counts as one)
MAX_PASTE_CHARS = 5_000_000  # pasted text is held to the upload limit
MAX_PROMPT_CHARS = 20_000  # a prompt or an attention text: past one context it is never read

LABELS = {  # setting -> what the pages call it
    "batch_size": "Batch size",
    "block_size": "Context length",
    "n_layer": "Layers",
    "n_embd": "Width",
    "n_head": "Heads",
    "vocab_size": "Vocabulary size",
    "tokens": "Text length",
    "max_iters": "Steps",
}
TRAIN_KNOBS = ("batch_size", "block_size", "n_layer", "n_embd", "n_head", "vocab_size")


def budget_bytes() -> int:
    """The memory one request may use: MINIGPT_MEMORY_BUDGET_MB or REQUEST_BUDGET_MB."""
    raw = os.environ.get("MINIGPT_MEMORY_BUDGET_MB", "")
    try:
        mb = float(raw) if raw.strip() else REQUEST_BUDGET_MB
    except ValueError:
        mb = REQUEST_BUDGET_MB
    return int(max(mb, 1) * 1_000_000)


def _valid(cfg: GPTConfig, knob: str, value: int) -> int:
    """The largest value <= value this setting can take with the others unchanged (0: none).

    A width must split into the heads (into even head sizes for RoPE); heads must divide it.
    Example: _valid(GPTConfig(n_head=4, n_embd=64), "n_embd", 70) == 68.
    """
    step = cfg.n_head * (2 if cfg.pos_emb == "rope" else 1)
    if knob == "n_embd":
        return value - value % step
    if knob == "n_head":
        even = 2 if cfg.pos_emb == "rope" else 1
        return next((h for h in range(value, 0, -1) if cfg.n_embd % (h * even) == 0), 0)
    return value


def _with(req: Request, knob: str, value: int) -> Request | None:
    """req with one setting changed (rounded down to a shape that exists), or None."""
    if knob in ("batch_size", "tokens"):
        return replace(req, **{knob: value}) if value >= 1 else None
    value = _valid(req.config, knob, value)
    if value < 1:
        return None
    cfg = req.config.replace(**{knob: value})
    tokens = None if req.tokens is None else min(req.tokens, cfg.block_size)
    return replace(req, config=cfg, tokens=tokens)


def _current(req: Request, knob: str) -> int:
    return getattr(req, knob) if knob in ("batch_size", "tokens") else getattr(req.config, knob)


def largest_fitting(req: Request, knob: str, limit: int, floor: int = 1) -> int | None:
    """The largest value of one setting (at most its current one) whose request fits in
    limit bytes, or None if even `floor` does not. Cost grows with every setting, so this
    bisects. Example: largest_fitting(req, "batch_size", budget_bytes()).
    """

    def fits(v: int) -> bool:
        r = _with(req, knob, v)
        return r is not None and total_bytes(r) <= limit

    if not fits(floor):
        return None
    lo, hi = floor, _current(req, knob) + 1  # fits(lo); hi does not, or is past the current
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return _valid(req.config, knob, lo)


def refusal(
    req: Request,
    knobs: Iterable[str] = TRAIN_KNOBS,
    labels: dict[str, str] | None = None,
    limit: int | None = None,
    what: str = "This run",
) -> str | None:
    """None if req fits the budget; otherwise one sentence: how much it needs, where that
    goes, and the setting to lower (with the largest value that fits). knobs are the settings
    the person can change, in the order worth trying; labels rename them for the page.
    Example: refusal(Request(GPTConfig(n_layer=64, ...), 32)) names Batch size or Context length.
    """
    limit = budget_bytes() if limit is None else limit
    parts = costs(req)
    need = sum(parts.values())
    if need <= limit:
        return None
    names = {**LABELS, **(labels or {})}
    top = sorted(parts.items(), key=lambda kv: -kv[1])[:2]
    where = " and ".join(f"{k} {size(v)}" for k, v in top)
    head = (
        f"{what} needs about {size(need)} of memory (mostly {where}), more than the "
        f"{size(limit)} one request may use on this shared server."
    )
    knobs = list(knobs)
    fixes = _fixes(req, knobs, limit, names)
    if not fixes and len(knobs) > 1:  # no one setting is enough: lower the first to its floor
        first = knobs[0]
        lowered = _with(req, first, _floor(req, first))
        if lowered is not None and (more := _fixes(lowered, knobs[1:], limit, names)):
            fixes = [f"{names.get(first, first)} ({first}) to {_floor(req, first)} and " + more[0]]
    if not fixes:
        if not knobs:
            return head
        return head + " No smaller setting fits: this model is too large for the server."
    return head + " Lower " + ", or ".join(fixes) + "."


def _floor(req: Request, knob: str) -> int:
    """The smallest value a setting can take: a width needs room for every head."""
    if knob == "n_embd":
        return _valid(req.config, knob, req.config.n_head * 2)
    return 2 if knob == "vocab_size" else 1


def _fixes(req: Request, knobs: list[str], limit: int, names: dict[str, str]) -> list[str]:
    """Up to two single settings that, lowered alone, make req fit: "Layers (n_layer) to at most 3"."""
    fixes = []
    for knob in knobs:
        best = largest_fitting(req, knob, limit, floor=_floor(req, knob))
        if best is not None and best < _current(req, knob):
            fixes.append(f"{names.get(knob, knob)} ({knob}) to at most {best:,}")
        if len(fixes) == 2:
            break
    return fixes


def time_refusal(req: Request, steps: int) -> str | None:
    """None if one step and the whole run stay within MAX_STEP_SECONDS and MAX_RUN_SECONDS;
    else a sentence naming Steps (or the step's size) and what would fit."""
    per_step = step_seconds(req)
    if per_step > MAX_STEP_SECONDS:
        return (
            f"One training step of this model would take about {per_step:.0f} s on this "
            f"server's CPU (at most {MAX_STEP_SECONDS:g} s keeps the page responsive). Lower "
            "Batch size, Context length, Layers or Width."
        )
    if per_step * steps > MAX_RUN_SECONDS:
        fit = max(1, int(MAX_RUN_SECONDS / per_step))
        return (
            f"{steps:,} steps would take about {per_step * steps / 60:.0f} minutes (about "
            f"{per_step * 1000:.0f} ms each); a run may take at most {MAX_RUN_SECONDS // 60} "
            f"minutes on this shared server. Lower Steps (max_iters) to at most {fit:,}."
        )
    return None


def checkpoint_limits() -> CheckpointLimits:
    """What an uploaded checkpoint may declare: the same limits as training on this server."""
    return CheckpointLimits(
        max_block_size=MAX_CONTEXT,
        max_layers=MAX_LAYERS,
        max_heads=MAX_HEADS,
        max_width=MAX_WIDTH,
        max_vocab=MAX_VOCAB,
        max_header_bytes=32_000_000,
        max_token_bytes=1024,
        max_table_bytes=4_000_000,
    )


def admit_model(config: GPTConfig) -> str | None:
    """load_checkpoint's `admit`: can this server hold the model and read one full context
    with it (tables built, one forward)? None, or a sentence for the person uploading it."""
    req = Request(config, 1, mode="eval")
    return refusal(req, knobs=(), what="This checkpoint's model")


def checkpoint_args() -> dict:
    """Keyword arguments for load_checkpoint on any upload: load_checkpoint(data, **checkpoint_args())."""
    return {"limits": checkpoint_limits(), "admit": admit_model}


def attention_refusal(config: GPTConfig, n_tokens: int, batch: int = 1) -> str | None:
    """The Attention page's capture (every layer's (B, nh, T, T) map kept), before it runs."""
    req = Request(config, batch, min(n_tokens, config.block_size), mode="capture")
    return refusal(req, knobs=("tokens",), what="Showing attention for this text")


def tokens_that_fit(config: GPTConfig, mode: str = "capture", batch: int = 1) -> int:
    """The longest sequence (at most the context) a forward of `mode` may run on: how far the
    Attention page's induction score may reach on a long-context model (0 if none fits).
    Example: tokens_that_fit(GPTConfig(block_size=64)) == 64."""
    req = Request(config, batch, config.block_size, mode)
    return largest_fitting(req, "tokens", budget_bytes()) or 0


def generation_refusal(config: GPTConfig, n_tokens: int, batch: int = 1) -> str | None:
    """Sampling n_tokens in all (prompt and new ones) with a KV cache, before it runs."""
    req = Request(config, batch, min(n_tokens, config.block_size), mode="generate")
    return refusal(req, knobs=("tokens",), what="Generating this text")


def session_caps() -> str:
    """The per-session caps in one sentence, for a page to state where they apply."""
    return (
        f"On this shared server each session keeps at most {MAX_MODELS_PER_SESSION} models of "
        f"its own, trains {MAX_RUNS_PER_SESSION} thing at a time, a training run stops after "
        f"{MAX_RUN_SECONDS // 60} minutes, and one request may use {size(budget_bytes())} "
        "of memory."
    )

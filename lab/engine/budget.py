"""One budget for the whole server: what a request will cost, worked out before it is built.

A class shares one process, and Community Cloud gives an app 690 MB. After one session has
opened every page the app holds 560-615 MB (README, Memory: torch and its kernels, the shipped
model, GPT-4's tokenizer, the encoded plays; shared by every session), which leaves roughly
75-130 MB for the work sessions ask for. So one request (a training run with its preview, an
upload, one page's forward pass) may use REQUEST_BUDGET_MB = 96 MB, and trainers run one or
two at a time (MINIGPT_MAX_TRAINERS; 1 on the smallest allowance). MINIGPT_MEMORY_BUDGET_MB
overrides it on a server with more memory. Page views that fit in it cost a few MB each.

Every cost below is counted in float32 bytes from the shapes alone, so asking costs nothing.
The activation factors were measured as peak RSS growth in a subprocess (tests/test_budget.py
keeps the estimate within a factor of the measurement). Over budget, `refusal` returns a
sentence naming the setting to lower and the largest value that fits.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace

from minigpt.config import GPTConfig
from minigpt.training.checkpoint_check import CheckpointLimits

FLOAT = 4  # bytes: the lab computes in float32
REQUEST_BUDGET_MB = 96  # see the module docstring for where this comes from
# Saved for the backward pass per layer and token, in units of the width: the input, both
# LayerNorms, q k v, attention output, projections, residual sums (≈ 10 C) plus the MLP's
# 4x-wide hidden layer before and after GELU (8 C); 26 C covers the measured 24-28 C.
TRAIN_ACTIVATION_WIDTHS = 26
EVAL_ACTIVATION_WIDTHS = 16  # without gradients one layer's temporaries live at a time
# With an additive mask (ALiBi) torch's CPU attention materialises (B, nh, T, T) scores:
# measured about two of them kept per layer for the backward pass.
MASKED_SCORE_COPIES = 2
CAPTURE_TRANSIENT_SCORES = 2  # scores and their masked copy while softmax runs (measured)
TRAIN_LOGIT_COPIES = 4  # logits, log-softmax and a gradient of each (measured 3.9)
EVAL_LOGIT_COPIES = 2

MAX_CONTEXT = 1024  # tokens a model may train on or be loaded with; attention grows with its square
MAX_LAYERS = 64
MAX_HEADS = 64
MAX_WIDTH = 2048
MAX_VOCAB = 110_000  # room for GPT-4's cl100k table (100,277), not for a 50,000-word table x 1024
CPU_FLOPS = 25e9  # one torch thread measured 30-35 GFLOP/s on lab-live; rounded down
MAX_STEP_SECONDS = 5.0  # one step blocks its session for this long: beyond it a page stalls
MAX_RUN_SECONDS = 20 * 60  # one training run's wall time: a lesson has other things to do
MAX_MODELS_PER_SESSION = 4  # models kept in one session's model picker (+ the shipped ones)
MAX_RUNS_PER_SESSION = 1  # one session trains one thing at a time (a compare counts as one)
MAX_PASTE_CHARS = 5_000_000  # pasted text is held to the upload limit
MAX_PROMPT_CHARS = 2_000  # a prompt or an attention text: the model reads one context anyway

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


@dataclass(frozen=True)
class Request:
    """What one request runs: a model shape, how many sequences of how many tokens, and how.

    mode: "train" (forward, backward, AdamW), "eval" (a forward without gradients),
    "capture" (the explicit attention path that keeps every layer's (B, nh, T, T) map),
    "generate" (a forward over the context plus its KV cache).
    """

    config: GPTConfig
    batch_size: int = 1
    tokens: int | None = None  # per sequence; None: the whole context
    mode: str = "train"
    copies: int = 1  # models held at once (the training page's preview steps a second copy)

    @property
    def T(self) -> int:
        return self.config.block_size if self.tokens is None else self.tokens


def param_count(cfg: GPTConfig) -> int:
    """Parameters of a GPT of this shape, counted once (the output head is the token table).

    Example: param_count(GPTConfig.preset("gpt2-small")) == 124_439_808.
    """
    C, b = cfg.n_embd, int(cfg.bias)
    attn = 4 * C * C + 4 * C * b
    mlp = 8 * C * C + 5 * C * b
    norms = 2 * C * (1 + b)
    per_layer = attn + mlp + norms
    positions = cfg.block_size * C if cfg.pos_emb == "learned" else 0
    return cfg.vocab_size * C + positions + cfg.n_layer * per_layer + C * (1 + b)


def param_tensors(cfg: GPTConfig) -> int:
    """How many parameter tensors (AdamW keeps a step counter for each). Example: 2 layers -> 28."""
    per_layer = 16 if cfg.bias else 8
    return 1 + (cfg.pos_emb == "learned") + cfg.n_layer * per_layer + (2 if cfg.bias else 1)


def table_bytes(cfg: GPTConfig) -> int:
    """Position buffers every copy of the model holds, built from block_size at construction."""
    T, nh = cfg.block_size, cfg.n_head
    if cfg.pos_emb == "alibi":
        return cfg.n_layer * nh * T * T * FLOAT  # (nh, T, T) per layer
    if cfg.pos_emb == "rope":
        return cfg.n_layer * T * (cfg.head_size // 2) * FLOAT  # (T, hs/2) per layer
    if cfg.pos_emb == "sinusoidal":
        return T * cfg.n_embd * FLOAT
    return 0


def optimizer_bytes(cfg: GPTConfig) -> int:
    """What training adds to the weights: a gradient and AdamW's two moments per parameter,
    plus one step counter per tensor. Example: equals the sum of grads and optimizer.state."""
    return 3 * param_count(cfg) * FLOAT + param_tensors(cfg) * FLOAT


def costs(req: Request) -> dict[str, int]:
    """Bytes by part, each labelled with what it is, for a request (nothing is allocated)."""
    cfg, B, T, mode = req.config, req.batch_size, req.T, req.mode
    L, C, nh, V = cfg.n_layer, cfg.n_embd, cfg.n_head, cfg.vocab_size
    weights = param_count(cfg) * FLOAT
    out = {"weights": weights, "position tables": table_bytes(cfg)}
    scores = B * nh * T * T * FLOAT  # one layer's (B, nh, T, T)
    if mode == "train":
        # The trainer keeps one copy of the weights to roll back to after a blow-up.
        out["optimizer"] = optimizer_bytes(cfg) + weights
        out["activations"] = L * B * T * TRAIN_ACTIVATION_WIDTHS * C * FLOAT
        if cfg.pos_emb == "alibi":
            out["attention"] = L * MASKED_SCORE_COPIES * scores + nh * T * T * FLOAT
        out["logits"] = TRAIN_LOGIT_COPIES * B * T * V * FLOAT
    else:
        out["activations"] = B * T * EVAL_ACTIVATION_WIDTHS * C * FLOAT
        if mode == "capture":
            out["attention"] = (L + CAPTURE_TRANSIENT_SCORES) * scores
        elif cfg.pos_emb == "alibi":
            out["attention"] = 3 * scores
        out["logits"] = EVAL_LOGIT_COPIES * B * T * V * FLOAT
        if mode == "generate":
            out["KV cache"] = 2 * L * B * T * C * FLOAT + 2 * B * T * C * FLOAT
    shared = {"weights", "position tables", "optimizer"}
    return {k: v * (req.copies if k in shared else 1) for k, v in out.items() if v}


def total_bytes(req: Request) -> int:
    return sum(costs(req).values())


def step_seconds(req: Request) -> float:
    """A training step's time on one CPU thread, from its arithmetic (about 6 flops per weight
    per token, plus attention's T² work), at CPU_FLOPS. Good to a factor of 2, no better."""
    cfg, B, T = req.config, req.batch_size, req.T
    matmul = param_count(cfg) - (cfg.block_size * cfg.n_embd if cfg.pos_emb == "learned" else 0)
    flops = 6 * matmul * B * T + 6 * 2 * cfg.n_layer * B * T * T * cfg.n_embd
    return flops / CPU_FLOPS if req.mode == "train" else flops / 3 / CPU_FLOPS


def size(n: float) -> str:
    """Bytes for people. Example: size(5.2e9) == "5.2 GB"; size(3e5) == "0.3 MB"."""
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


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


def generation_refusal(config: GPTConfig, n_tokens: int, batch: int = 1) -> str | None:
    """Sampling n_tokens in all (prompt and new ones) with a KV cache, before it runs."""
    req = Request(config, batch, min(n_tokens, config.block_size), mode="generate")
    return refusal(req, knobs=("tokens",), what="Generating this text")

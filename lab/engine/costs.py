"""What a request costs this server, from its shapes alone: nothing is built or allocated.

Bytes are float32 (the lab computes in it); the factors were measured as peak RSS growth in a
fresh process (tests/test_budget.py keeps every estimate within a factor of 2 of a measured
peak; they come out 1.3-1.5x above it). lab/engine/budget.py decides what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

from minigpt.config import GPTConfig

FLOAT = 4  # bytes: the lab computes in float32
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

CPU_FLOPS = 25e9  # one torch thread measured 30-35 GFLOP/s on lab-live; rounded down


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
    per_layer = 12 if cfg.bias else 6  # c_attn, c_proj, two norms, the MLP's two layers
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


NBSP = "\u00a0"  # between a number and its unit, so a page never wraps "96" from "MB"


def size(n: float) -> str:
    """Bytes for people, to the precision that matters: a tenth below 10 MB, whole megabytes
    above; number and unit held together by a no-break space (NBSP).
    Example: size(5.2e9) == "5.2 GB"; size(96e6) == "96 MB"; size(3e5) == "0.3 MB" (NBSP)."""
    if n >= 1e9:
        return f"{n / 1e9:.1f}{NBSP}GB"
    return f"{n / 1e6:.0f}{NBSP}MB" if n >= 9.95e6 else f"{n / 1e6:.1f}{NBSP}MB"

"""The compare page's experiment: models that differ only in their positional encoding.

Done properly, the comparison changes one thing. `same_start_models` gives every encoding the
same initial weights for the parts they share (token table, attention, MLP, norms), and
`start_trainers` gives every model the same TokenData and the same seed, so each one sees the
same batches in the same order. `extrapolation_losses` then measures each model on held-out
text at context lengths it never trained on, two ways (Press et al. 2022, appendix B):

    "windows":  the mean loss over non-overlapping windows of each length
    "position": the mean loss at each token position of a sliding window of the longest length

A learned position table has no row past block_size, so there the answer is None ("not
defined"), never a number made up by clipping or wrapping positions.
`python -m minigpt.experiments` trains the whole comparison (minigpt/cli/experiments.py).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F

from minigpt import rng
from minigpt.config import POS_EMBS, GPTConfig
from minigpt.model import GPT
from minigpt.training.data import TokenData, windows
from minigpt.training.trainer import TrainConfig, Trainer

Mode = Literal["windows", "position"]
MODES: tuple[Mode, ...] = ("windows", "position")
LENGTH_FACTORS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0)  # x training length
_BATCH_TOKENS = 16_384  # tokens per forward pass while evaluating: bounds memory at any length


def same_start_models(base_cfg: GPTConfig, pos_embs: Sequence[str], seed: int) -> dict[str, GPT]:
    """One model per encoding, whose shared parts start from identical weights.

    Built under one seed, the models would still differ: a learned table draws random numbers
    before the blocks do, which shifts every later draw. So a reference model with no position
    information is built first and its tensors are copied into every model; only what an
    encoding adds (the learned table) keeps its own seeded initialisation. The reference does not
    depend on which encodings are asked for, so "rope" starts the same in any comparison.
    Example: a = same_start_models(cfg, ["learned", "rope"], 0);
    torch.equal(a["learned"].h[0].mlp.c_fc.weight, a["rope"].h[0].mlp.c_fc.weight)
    """
    unknown = [p for p in pos_embs if p not in POS_EMBS]
    if unknown or not pos_embs:
        raise ValueError(f"choose encodings from {', '.join(POS_EMBS)} (got {list(pos_embs)})")
    with rng.seeded(seed):  # alone on the global generator; the caller's state comes back
        reference = GPT(base_cfg.replace(pos_emb="none")).state_dict()
        models = {}
        for pos_emb in dict.fromkeys(pos_embs):  # each once, in the order given
            torch.manual_seed(seed)
            model = GPT(base_cfg.replace(pos_emb=pos_emb))
            own = model.state_dict()
            shared = {k: v for k, v in reference.items() if k in own}
            model.load_state_dict({**own, **shared})
            models[pos_emb] = model
    return models


def shared_parameter_names(models: Sequence[GPT]) -> list[str]:
    """Parameter names every model has (what the comparison must start equal)."""
    names = [set(dict(m.named_parameters())) for m in models]
    return sorted(set.intersection(*names)) if names else []


def start_trainers(
    base_cfg: GPTConfig, train_cfg: TrainConfig, data: TokenData, pos_embs: Sequence[str], seed: int
) -> dict[str, Trainer]:
    """A Trainer per encoding: same start, same data, same batch order, same hyperparameters.

    Each Trainer draws batches from its own generator seeded with `seed`, so step n of every
    model trains on the very same windows of text.
    """
    tcfg = train_cfg.replace(seed=seed)
    models = same_start_models(base_cfg, pos_embs, seed)
    return {pos_emb: Trainer(model, data, tcfg) for pos_emb, model in models.items()}


# Extrapolation


@dataclass(frozen=True)
class Extrapolation:
    """Held-out loss against context length (windows) or token position (position).

    `loss[i]` belongs to `x[i]`; None means the model cannot read that far (a learned table
    past its rows), so no number exists. `limit` is that longest readable context, or None.
    """

    mode: str
    x: list[int]  # context lengths ("windows") or 0-based token positions ("position")
    loss: list[float | None]  # mean cross-entropy in nats per token
    tokens: list[int]  # how many predictions each value averages
    train_length: int  # the block_size the model was trained at
    limit: int | None  # learned: block_size; every other encoding: None (any length runs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Extrapolation:
        return cls(**d)


def context_limit(model: GPT) -> int | None:
    """The longest input a model can read: the learned table's rows, else unlimited (None)."""
    return model.config.block_size if model.config.pos_emb == "learned" else None


def extrapolation_lengths(block_size: int, factors: Sequence[float] = LENGTH_FACTORS) -> list[int]:
    """Context lengths from half to four times the training length.

    Example: extrapolation_lengths(64) == [32, 48, 64, 80, 96, 128, 192, 256]
    """
    return sorted({max(1, round(block_size * f)) for f in factors})


@torch.no_grad()
def _loss_by_position(model: GPT, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy at each position over all windows: x, y (N, T) -> (T,)."""
    n, t = x.shape
    rows = max(1, _BATCH_TOKENS // t)
    total = torch.zeros(t, dtype=torch.float64)
    for i in range(0, n, rows):
        logits, _ = model(x[i : i + rows])  # (b, T, vocab)
        loss = F.cross_entropy(logits.transpose(1, 2), y[i : i + rows], reduction="none")  # (b, T)
        total += loss.sum(0).double()
    return total / n


def _held_out_windows(
    ids: torch.Tensor, length: int, stride: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """windows(), with a sentence instead of a traceback when the text is too short."""
    if len(ids) < length + 1:
        raise ValueError(
            f"the held-out text has {len(ids):,} tokens, too few for one window of {length} "
            "(plus the token after it); use more text or shorter lengths"
        )
    return windows(ids, length, stride)  # (N, T) each


def extrapolation_losses(
    model: GPT,
    val_ids: torch.Tensor | Sequence[int],
    lengths: Sequence[int],
    mode: Mode = "windows",
    max_tokens: int | None = 32_768,
    stride: int | None = None,
) -> Extrapolation:
    """Held-out loss at context lengths the model may never have seen.

    "windows": for each length L, cut the first max_tokens held-out tokens into side-by-side
    windows of L and average the loss over every token; a long window gives its later tokens
    more context, so a model that can use it scores lower, one confused by far positions higher.
    "position": slide a window of the longest length over the text (stride apart, default a
    quarter of it) and average the loss at each position: where, exactly, a model breaks down.
    Causal attention means the loss at position t never depends on tokens after t, so a learned
    model is scored on the first block_size positions of the same windows, and has None after.
    Example: extrapolation_losses(learned_16, ids, [8, 16, 32]).loss[-1] is None
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)} (got {mode!r})")
    if not lengths or min(lengths) < 1:
        raise ValueError(f"lengths must be positive (got {list(lengths)})")
    ids = torch.as_tensor(val_ids, dtype=torch.long).flatten()
    ids = ids[:max_tokens] if max_tokens else ids
    limit = context_limit(model)
    was_training = model.training
    model.eval()
    try:
        if mode == "windows":
            xs, losses, tokens = sorted(set(lengths)), [], []
            for length in xs:
                x, y = _held_out_windows(ids, length, length)
                if limit is not None and length > limit:
                    losses.append(None)
                    tokens.append(0)
                    continue
                losses.append(float(_loss_by_position(model, x, y).mean()))
                tokens.append(x.numel())
        else:
            longest = max(lengths)
            x, y = _held_out_windows(ids, longest, stride or max(1, longest // 4))
            readable = longest if limit is None else min(limit, longest)
            by_pos = _loss_by_position(model, x[:, :readable], y[:, :readable]).tolist()
            xs = list(range(longest))
            losses = by_pos + [None] * (longest - readable)
            tokens = [len(x)] * readable + [0] * (longest - readable)
    finally:
        model.train(was_training)
    return Extrapolation(mode, xs, losses, tokens, model.config.block_size, limit)


# Reading results over seeds


@dataclass(frozen=True)
class SeedStats:
    """One number over several seeds: the mean, and the lowest and highest seed (the spread)."""

    mean: float
    low: float
    high: float
    sd: float  # sample standard deviation; 0 for one seed
    n: int


def seed_stats(values: Sequence[float | None]) -> SeedStats | None:
    """Mean and spread of the defined values, or None if no seed has one.

    Example: seed_stats([1.0, 3.0, None]) == SeedStats(2.0, 1.0, 3.0, math.sqrt(2), 2)
    """
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return None
    sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return SeedStats(statistics.fmean(vals), min(vals), max(vals), sd, len(vals))


def value_at(result: Extrapolation, x: int) -> float | None:
    """The loss at one context length or position, None if not measured or not defined."""
    return result.loss[result.x.index(x)] if x in result.x else None


def ranking(values: dict[str, Sequence[float | None]]) -> list[tuple[str, SeedStats]]:
    """Encodings with a defined value, best (lowest mean loss) first; undefined ones left out."""
    stats = {name: seed_stats(v) for name, v in values.items()}
    return sorted(((n, s) for n, s in stats.items() if s is not None), key=lambda ns: ns[1].mean)


def holds_until(result: Extrapolation, tolerance: float = 0.1) -> int | None:
    """The first length (or position) past training whose loss tops the trained level by tolerance.

    The trained level is the loss at the training length for windows, or for positions the mean
    over the second half of the trained positions. Positions are averaged over 8 neighbours
    first, so one unlucky token is not a breakdown. None: it never happens in what was measured
    (or nothing past training is defined, as for a learned table).
    Example: holds_until(Extrapolation("windows", [32, 64, 128], [2.0, 1.9, 2.5], [1] * 3, 64, None))
    == 128
    """
    pts = [(x, v) for x, v in zip(result.x, result.loss, strict=True) if v is not None]
    if not pts:
        return None
    xs, ls = (list(t) for t in zip(*pts, strict=True))
    n = result.train_length
    if result.mode == "position":
        ls = [statistics.fmean(ls[max(0, i - 4) : i + 4]) for i in range(len(ls))]
        trained = [v for x, v in zip(xs, ls, strict=True) if n // 2 <= x < n]
    else:
        trained = [v for x, v in zip(xs, ls, strict=True) if x == n]
    if not trained:
        return None
    level = statistics.fmean(trained)
    return next((x for x, v in zip(xs, ls, strict=True) if x >= n and v > level + tolerance), None)

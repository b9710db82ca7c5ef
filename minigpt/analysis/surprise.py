"""How surprised a model is by a text: -log p of each token given the ones before it.

Summed over a text and divided by its length in characters (not tokens), it becomes bits per
character, which compares models with different tokenizers fairly: a tokenizer with longer
tokens makes fewer, harder predictions, and per character that evens out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class TextSurprise:
    """Each token after the first, with what the model expected there (T = number of ids)."""

    nats: torch.Tensor  # (T-1,) -log p(token t | tokens before it), t = 1 .. T-1
    probs: torch.Tensor  # (T-1,) p of the token that came, exp(-nats)
    top_ids: torch.Tensor  # (T-1, k) the model's likeliest tokens at each of those places
    top_probs: torch.Tensor  # (T-1, k) and their probabilities, descending


def bits_per_char(nats: torch.Tensor, n_chars: int) -> float:
    """Total surprise in bits divided by the characters it covered.

    Example: a uniform model over V tokens on a character tokenizer scores log2(V).
    """
    if n_chars <= 0:
        raise ValueError("bits per character needs at least one character")
    return float(nats.sum()) / math.log(2) / n_chars


@torch.inference_mode()
def text_surprise(model: nn.Module, ids: list[int], n_top: int = 5) -> TextSurprise:
    """Surprise of every token of ids after the first (the first has nothing to follow).

    A text longer than the context is read in windows of block_size that overlap by half: each
    token is scored once, by the first window where it has at least half a context before it
    (the tokens of the first window have what there is), and no window is longer than the
    model can read.
    Example: text_surprise(model, [1, 2, 3]).nats.shape == (2,).
    """
    if len(ids) < 2:
        raise ValueError("surprise needs at least two tokens: the first is never predicted")
    block = model.config.block_size
    stride = max(1, block // 2)
    plan = []  # (start, end): inputs ids[start : end - 1], new targets from the previous end
    start, end = 0, 1
    while end < len(ids):
        plan.append((start, min(len(ids), start + block + 1)))
        start, end = start + stride, plan[-1][1]
    # Windows of one length run as a batch, as many as keep the logits near 16 MB.
    per_batch = max(1, 4_000_000 // (block * model.config.vocab_size))
    was_training = model.training
    model.eval()
    nats, top_ids, top_probs = [], [], []
    try:
        done = 1  # the next target to score
        for first in range(0, len(plan), per_batch):
            group = plan[first : first + per_batch]
            same = [w for w in group if w[1] - w[0] == group[0][1] - group[0][0]]
            for batch in (same, group[len(same) :]):  # only the last window can be shorter
                if not batch:
                    continue
                windows = torch.tensor([ids[a : b - 1] for a, b in batch])  # (B, W)
                logits, _ = model(windows)
                logprobs = torch.log_softmax(logits.float(), dim=-1)  # (B, W, V)
                for row, (a, b) in zip(logprobs, batch, strict=True):
                    # Row i predicts ids[a + i + 1]; score only the targets not scored yet.
                    rows = row[done - 1 - a : b - 1 - a]  # (n, V)
                    targets = torch.tensor(ids[done:b])  # (n,)
                    nats.append(-rows.gather(-1, targets[:, None])[:, 0])
                    values, idx = rows.exp().topk(min(n_top, rows.size(-1)), dim=-1)
                    top_ids.append(idx)
                    top_probs.append(values)
                    done = b
    finally:
        model.train(was_training)
    nats_t = torch.cat(nats)
    return TextSurprise(nats_t, torch.exp(-nats_t), torch.cat(top_ids), torch.cat(top_probs))

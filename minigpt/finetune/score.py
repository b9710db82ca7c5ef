"""Asking a model the held-out questions: greedy answers, many questions in one batch.

Greedy decoding (always the likeliest next token) makes the answer a property of the weights
alone, so "exactly right" means the same thing at every evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from minigpt.finetune.data import END, prompt_text
from minigpt.finetune.tasks import Item
from minigpt.tokenizers.tokenizer import Tokenizer


@torch.no_grad()
def greedy_answers(
    model: nn.Module,
    tokenizer: Tokenizer,
    items: Sequence[Item],
    max_new_tokens: int = 24,
    batch_size: int = 64,
) -> list[str]:
    """The model's answer to each item: greedy tokens after the prompt, up to END.

    Prompts of different lengths share one batch, padded on the right: row i reads its next
    token's logits at its own last position, and causal attention keeps the padding after it
    invisible. Each new token costs one forward pass over the batch (no cache: at 128 tokens
    that is simpler and nearly as fast).
    """
    was_training = model.training
    model.eval()
    end = tokenizer.encode(END)
    answers: list[str] = []
    try:
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            prompts = [tokenizer.encode(prompt_text(i.instruction, i.input)) for i in chunk]
            stop = end[0] if len(end) == 1 else None
            answers += _answer_batch(model, prompts, stop, max_new_tokens)
    finally:
        model.train(was_training)
    # A tokenizer whose newline merges with other text has no single END token: cut at it.
    return [tokenizer.decode(a).split(END)[0] for a in answers]


def _answer_batch(
    model: nn.Module, prompts: list[list[int]], end: int | None, max_new_tokens: int
) -> list[list[int]]:
    block = model.config.block_size
    lengths = torch.tensor([len(p) for p in prompts])
    room = min(max_new_tokens, block - int(lengths.max()) + 1)  # the last token is not read
    x = torch.zeros(len(prompts), int(lengths.max()) + max(room, 0), dtype=torch.long)
    for i, p in enumerate(prompts):
        x[i, : len(p)] = torch.tensor(p)
    done = torch.zeros(len(prompts), dtype=torch.bool)
    new: list[list[int]] = [[] for _ in prompts]
    for _ in range(max(room, 0)):
        live = (~done).nonzero().flatten()  # rows still answering: only they are run
        T = min(int(lengths[live].max()), block)
        logits, _ = model(x[live, :T])  # (b, T, V)
        nxt = logits[torch.arange(len(live)), lengths[live] - 1].argmax(-1)  # (b,)
        for i, token in zip(live.tolist(), nxt.tolist(), strict=True):
            if token == end:
                done[i] = True
            else:
                new[i].append(token)
        x[live, lengths[live]] = nxt
        lengths[live] += 1
        if done.all():
            break
    return new

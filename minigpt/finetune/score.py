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
from minigpt.kvcache import KVCache
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

    Prompts of different lengths share one batch (see _answer_batch); the answers are the
    ones each prompt would get alone.
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
    """Greedy answers to prompts of different lengths, all rows moving one position per step.

    The prompts' shared length goes in at once; after that each step feeds one position of
    every row through the KV cache: a row still inside its prompt feeds its next prompt token,
    a row past it feeds the token it just chose. Same positions, same math as running each
    prompt alone, but each step costs one token per row instead of a whole sequence.
    """
    block = model.config.block_size
    lengths = torch.tensor([len(p) for p in prompts])  # (B,)
    shortest, longest = int(lengths.min()), int(lengths.max())
    seq = torch.zeros(len(prompts), longest + max_new_tokens, dtype=torch.long)
    for i, p in enumerate(prompts):
        seq[i, : len(p)] = torch.tensor(p)
    cache = KVCache.empty(model.config.n_layer)
    logits = model(seq[:, :shortest], cache=cache)[0][:, -1]  # (B, V): guesses for `shortest`
    done = torch.zeros(len(prompts), dtype=torch.bool)
    new: list[list[int]] = [[] for _ in prompts]
    for pos in range(shortest, min(longest + max_new_tokens, block + 1)):
        guess = logits.argmax(-1)  # (B,): each row's choice for position pos
        answering = lengths <= pos  # rows whose prompt has ended: pos is part of the answer
        for i in (answering & ~done).nonzero().flatten().tolist():
            if guess[i] == end or len(new[i]) == max_new_tokens:
                done[i] = True
            else:
                new[i].append(int(guess[i]))
        if done.all() or pos == block:  # every row answered, or the context is full
            break
        seq[answering, pos] = guess[answering]
        logits = model(seq[:, pos : pos + 1], cache=cache)[0][:, -1]  # (B, V)
    return new

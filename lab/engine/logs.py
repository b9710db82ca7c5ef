"""What a live run logs and how often: samples that fit the model's context, and logs that
take a small share of the run's training time (the estimate counts the same schedule)."""

from __future__ import annotations

import math

from lab.engine.runspec import DEFAULT_PROMPT, SAMPLE_TOKENS
from minigpt.tokenizers.tokenizer import CharTokenizer, Tokenizer

LOG_SHARE = 0.05  # the most of a run's training time its logged samples and snapshots may take
LOG_FREE_SECONDS = 1.0  # ... unless they take less than this in all
MIN_LOG_TOKENS = 32  # a logged sample's length when the context leaves less room than this


def log_every(max_iters: int, step_seconds: float = 0.0, log_seconds: float = 0.0) -> int:
    """Steps between two logged samples (and head snapshots): about 20 in a run, but, when the
    costs of a step and of one log (a sample and a snapshot) are known, only as many as fit in
    LOG_SHARE of the training time or LOG_FREE_SECONDS, whichever is more.

    A 150-step run of lab-live logged every 8 steps, and its samples took 23% of the run; a
    tiny model's run still logs about 20 times, its logs taking a second in all.
    Example: log_every(1500) == 75; log_every(150, step_seconds=0.1, log_seconds=0.2) == 30
    """
    every = max(1, round(max_iters / 20))
    if step_seconds > 0 and log_seconds > 0:
        budget = max(LOG_SHARE * max_iters * step_seconds, LOG_FREE_SECONDS)
        every = max(every, math.ceil(max_iters * log_seconds / budget - 1e-9))
    return every


def log_tokens(asked: int, block_size: int, prompt_tokens: int) -> int:
    """New tokens in a logged sample: as many as asked, at most SAMPLE_TOKENS, and only as many
    as fit in the model's context after the prompt (at least MIN_LOG_TOKENS).

    Inside the context each new token costs one position's work (its keys and values are
    cached); past it every token reruns the whole window. On lab-live (context 64) a
    160-token sample cost 4 training steps, a 57-token one just over one.
    Example: log_tokens(200, 64, 7) == 57; log_tokens(20, 64, 7) == 20
    """
    room = max(MIN_LOG_TOKENS, block_size - prompt_tokens)
    return max(1, min(asked, SAMPLE_TOKENS, room))


def logged_sample_tokens(tokenizer: Tokenizer, block_size: int, asked: int) -> int:
    """LiveRun.log_tokens before the run exists: the default prompt, this tokenizer and context."""
    return log_tokens(asked, block_size, len(readable(tokenizer, DEFAULT_PROMPT)))


def readable(tokenizer: Tokenizer, text: str) -> list[int]:
    """Ids of the part of text the tokenizer can read (a char model skips unknown characters)."""
    if isinstance(tokenizer, CharTokenizer):
        text = tokenizer.known(text)[0]
    return tokenizer.encode(text)

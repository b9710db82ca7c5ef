"""What the caches hash a model or a trained tokenizer by: its key, never its weights."""

from __future__ import annotations

from dataclasses import dataclass

from lab.engine.models import LabModel
from minigpt.tokenizers.bpe import BPETokenizer


@dataclass(frozen=True, eq=False)
class TrainedBPE:
    """A BPE tokenizer and what it was trained on; shared by sessions, so never mutated."""

    key: str  # digest of (text, vocab_size, pattern): keys the per-tokenizer caches
    tokenizer: BPETokenizer
    chars: int  # characters trained on
    seconds: float  # how long training took


# The hash_funcs of every cache taking a model or a trained tokenizer (see lab/cache/__init__).
BY_KEY = {LabModel: lambda m: m.key, TrainedBPE: lambda t: t.key}

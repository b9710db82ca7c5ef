"""What "the current model" means: the shipped one, or one this session trained or uploaded."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from lab.engine.views import visible
from minigpt.model import GPT
from minigpt.tokenizers.tokenizer import Tokenizer


@dataclass(frozen=True, eq=False)
class LabModel:
    """A model the lab can show, never mutated once made (training works on its own copy).

    `key` is unique across all sessions, so caches keyed by it can never mix two models up.
    """

    name: str
    model: GPT
    tokenizer: Tokenizer
    metrics: list[dict[str, Any]] = field(default_factory=list)
    key: str = field(default_factory=lambda: uuid.uuid4().hex)


def encode_text(tokenizer: Tokenizer, text: str) -> tuple[list[int], str | None]:
    """Token ids for text the model may not fully know, and a note on what was left out.

    A character tokenizer has no id for a character it never saw; rather than fail, drop those
    characters and say which ones, so the student sees why the text changed.
    """
    from minigpt.tokenizers.tokenizer import CharTokenizer

    if isinstance(tokenizer, CharTokenizer):
        kept, dropped = tokenizer.known(text)
        note = None
        if dropped:
            shown = " ".join(visible(c) for c in sorted(dropped)[:12])
            note = f"The model never saw these characters, so they were left out: {shown}"
        return tokenizer.encode(kept), note
    return tokenizer.encode(text), None

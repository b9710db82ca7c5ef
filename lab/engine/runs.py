"""A finished (or stopped) training run, as the session keeps it for the compare page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lab.engine.models import LabModel
from minigpt.config import GPTConfig
from minigpt.training.trainer import TrainConfig


@dataclass(frozen=True, eq=False)
class RunRecord:
    """Everything needed to compare a run with others: how it was set up and what it did.

    `corpus_key` names the training text (e.g. "shakespeare" or a hash of an upload), so the
    compare page can flag runs that differ in more than their positional encoding.
    """

    name: str
    config: GPTConfig
    train_config: TrainConfig
    tokenizer_kind: str
    corpus_key: str
    metrics: list[dict[str, Any]]  # one dict per logged step: step, train_loss, val_loss, ...
    samples: list[tuple[int, str]] = field(default_factory=list)  # (step, text)
    model: LabModel | None = None
    seconds_per_step: float | None = None

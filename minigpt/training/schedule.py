"""How to train: the settings (`TrainConfig`) and the learning-rate schedule they describe.

Kept apart from the Trainer so a form, a checkpoint or a command line can read and check
settings without the training machinery.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

_AT_LEAST_ONE = (
    "batch_size",
    "gradient_accumulation_steps",
    "max_iters",
    "eval_iters",
    "eval_interval",
)


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Defaults suit the lab's small character-level models on a CPU.

    Building one never fails, so a form can show every problem at once; `problems()` lists them
    and `Trainer` refuses a config that has any.
    """

    batch_size: int = 32  # windows per forward pass (one micro-batch)
    # Micro-batches per update, shared among the processes: each update sees
    # batch_size * gradient_accumulation_steps windows, whether 1 process or N do the work.
    gradient_accumulation_steps: int = 1
    max_iters: int = 2000
    learning_rate: float = 1e-3
    min_lr: float | None = None  # where the cosine ends; None means learning_rate / 10
    warmup_iters: int = 100
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99  # nanoGPT's choice for small batches: the second moment adapts faster
    grad_clip: float = 1.0  # 0 turns clipping off
    eval_iters: int = 20
    eval_interval: int = 250
    seed: int = 1337
    val_fraction: float = 0.1

    @property
    def final_lr(self) -> float:
        return self.learning_rate / 10 if self.min_lr is None else self.min_lr

    def problems(self) -> list[str]:
        """Every reason these settings cannot train, worded for a person (empty when fine)."""
        lr_ok = math.isfinite(self.learning_rate) and self.learning_rate > 0
        rules = [  # (field, holds, what it must be); NaN fails every comparison
            *((n, getattr(self, n) >= 1, "at least 1") for n in _AT_LEAST_ONE),
            ("learning_rate", lr_ok, "a positive number"),
            (
                "min_lr",
                not lr_ok or 0 <= self.final_lr <= self.learning_rate,
                "between 0 and learning_rate",
            ),
            ("warmup_iters", self.warmup_iters >= 0, "0 or more"),
            ("weight_decay", self.weight_decay >= 0, "0 or more"),
            ("beta1", 0 <= self.beta1 < 1, "in [0, 1)"),
            ("beta2", 0 <= self.beta2 < 1, "in [0, 1)"),
            ("grad_clip", self.grad_clip >= 0, "0 (off) or more"),
            ("val_fraction", 0 < self.val_fraction < 1, "between 0 and 1"),
        ]
        return [f"{n} must be {what} (got {getattr(self, n)})" for n, ok, what in rules if not ok]

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        return cls(**d)  # an unknown key is a TypeError naming it


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for update number `step` (from 0): linear warmup, then cosine to min_lr.

    Warmup lets Adam's moment estimates settle before full-size steps; the slow cosine ending
    lets the weights settle into a minimum instead of bouncing around it.
    Example: lr_at(cfg.warmup_iters, cfg) == cfg.learning_rate (the peak).
    """
    if step < cfg.warmup_iters:
        return cfg.learning_rate * (step + 1) / (cfg.warmup_iters + 1)
    span = max(1, cfg.max_iters - 1 - cfg.warmup_iters)
    progress = min(1.0, (step - cfg.warmup_iters) / span)
    coeff = 0.5 * (1.0 + math.cos(math.pi * progress))  # 1 -> 0
    return cfg.final_lr + coeff * (cfg.learning_rate - cfg.final_lr)

"""Training text in which copying pays off: some windows hold a passage and then its repeat.

Plain Shakespeare rarely repeats a long passage inside one context window, so a small model has
little reason to learn to copy from its context, and its induction heads never form (the shipped
model's best induction score is 0.01). `RepeatData` serves the same windows as `TokenData`, but
a share of the training windows is rewritten as [text before | span | the same span | ...]: a
span of text from elsewhere in the plays (or of random tokens, where only copying can predict
the second copy), repeated at once. Validation windows are left as they are, so the validation
loss still measures Shakespeare.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from minigpt.config import PRESETS, GPTConfig
from minigpt.training.data import Split, TokenData
from minigpt.training.trainer import TrainConfig


class RepeatData(TokenData):
    """TokenData whose training batches hold repeated spans in `repeat_fraction` of the windows.

    Of those windows, `random_fraction` repeat a span of uniformly random token ids; the rest
    repeat a passage of the text. Span lengths vary from window to window (between a quarter and
    half the context), so the distance back to the first copy is never the same and only a head
    that finds the earlier occurrence by content can use it.
    Example: RepeatData(range(1000), 0.1, repeat_fraction=1.0).get_batch("train", 2, 16)
    """

    def __init__(
        self,
        ids: torch.Tensor | list[int],
        val_fraction: float = 0.1,
        repeat_fraction: float = 0.25,
        random_fraction: float = 0.5,
        vocab_size: int | None = None,
    ) -> None:
        super().__init__(ids, val_fraction)
        for name, value in (
            ("repeat_fraction", repeat_fraction),
            ("random_fraction", random_fraction),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1] (got {value})")
        self.repeat_fraction = repeat_fraction
        self.random_fraction = random_fraction
        self.vocab_size = vocab_size or int(self.ids.max()) + 1

    @classmethod
    def from_text(  # type: ignore[override]
        cls,
        text: str,
        tokenizer,
        val_fraction: float = 0.1,
        repeat_fraction: float = 0.25,
        random_fraction: float = 0.5,
    ) -> RepeatData:
        """Encode a text with any tokenizer of the lab, split it, and repeat spans in training."""
        return cls(
            tokenizer.encode(text),
            val_fraction,
            repeat_fraction,
            random_fraction,
            vocab_size=tokenizer.vocab_size,
        )

    def get_batch(
        self,
        split: Split,
        batch_size: int,
        block_size: int,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """As TokenData.get_batch; in training, some rows rewritten to hold a repeated span."""
        x, y = super().get_batch(split, batch_size, block_size, generator)
        if split != "train" or self.repeat_fraction == 0 or block_size < 4:
            return x, y
        rows = torch.cat([x, y[:, -1:]], dim=1)  # (B, T + 1): the window and its last target
        chosen = torch.rand(batch_size, generator=generator) < self.repeat_fraction  # (B,)
        for b in torch.nonzero(chosen).flatten().tolist():
            rows[b] = self._repeated_window(block_size + 1, generator)
        return rows[:, :-1].contiguous(), rows[:, 1:].contiguous()  # (B, T) each

    def _repeated_window(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """n tokens: some text, a span, the span again, then the text that followed the span."""
        span = int(torch.randint(max(2, n // 4), n // 2 + 1, (1,), generator=generator))
        lead = int(torch.randint(0, n - 2 * span + 1, (1,), generator=generator))
        ids = self.train
        if float(torch.rand(1, generator=generator)) < self.random_fraction:
            first = torch.randint(self.vocab_size, (span,), generator=generator)
        else:
            start = int(torch.randint(len(ids) - span, (1,), generator=generator))
            first = ids[start : start + span].long()
        # The text around the span is a real window, so the window still reads as Shakespeare
        # before the span and after its repeat.
        start = int(torch.randint(len(ids) - n, (1,), generator=generator))
        window = ids[start : start + n].long().clone()  # (n,)
        window[lead : lead + span] = first
        window[lead + span : lead + 2 * span] = first
        return window


@dataclass(frozen=True)
class RepeatRecipe:
    """A model shape, training settings and repeat shares that grow an induction head.

    `data(text, tokenizer)` makes the RepeatData; the model is GPTConfig `model` with the
    tokenizer's vocab_size. Frozen, so it can key a cache like the configs it holds.
    """

    model: GPTConfig
    train: TrainConfig
    repeat_fraction: float
    random_fraction: float

    def data(self, text: str, tokenizer) -> RepeatData:
        return RepeatData.from_text(
            text, tokenizer, self.train.val_fraction, self.repeat_fraction, self.random_fraction
        )


# The live training page's induction run (README, "The induction model"): every window holds a
# span of random tokens and its repeat, so copying pays off in every batch; in the recipes that
# kept half the windows plain Shakespeare from the start, or repeated text rather than random
# tokens, no head reached an induction score of 0.5 within 1000 steps. (The shipped induction
# model starts the same way, then trains on mostly plain text: `--repeat_all_until`.) Measured
# in benchmarks/induction.py: steps and seconds until a head scores 0.5.
# Learning rate 6e-3 with 100 warmup steps: seeds 0, 1, 2 formed a head by steps 500, 550, 550
# (scored every 50 steps); at 3e-3 with 50 warmup steps seed 0 needed 950 and seed 1 formed none
# in 2000 (1e-2 formed seed 1's by step 650).
LIVE_INDUCTION = RepeatRecipe(
    model=PRESETS["lab-induction"].replace(block_size=64),
    train=TrainConfig(
        batch_size=32, max_iters=2000, learning_rate=6e-3, warmup_iters=100, eval_interval=100
    ),
    repeat_fraction=1.0,
    random_fraction=1.0,
)

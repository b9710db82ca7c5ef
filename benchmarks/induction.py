"""Induction: how many steps and seconds the live induction preset takes to grow an induction head.

Trains the preset (minigpt/training/repeats.py LIVE_INDUCTION) on tinyshakespeare with three
seeds, one torch thread, and scores every head every CHECK_EVERY steps; a run has formed its head
at the first check where some head's induction score (minigpt/analysis/heads.py) reaches 0.5.
Seconds are training time only (Trainer.elapsed), not the scoring. The rows quote the medians.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import torch

from benchmarks.table import Row
from minigpt.analysis.forming import FORMED
from minigpt.analysis.heads import head_scores
from minigpt.model import GPT
from minigpt.tokenizers.tokenizer import CharTokenizer
from minigpt.training.repeats import LIVE_INDUCTION
from minigpt.training.trainer import Trainer

SEEDS = (0, 1, 2)
CHECK_EVERY = 25
TARGET_SECONDS = 180  # the "within about three minutes" on this CPU


def steps_to_form(text: str, seed: int, log: Callable[[str], None]) -> tuple[int | None, float]:
    """(steps, training seconds) until the best induction score first reaches 0.5 (None: never)."""
    recipe = LIVE_INDUCTION
    tokenizer = CharTokenizer.train(text)
    data = recipe.data(text, tokenizer)
    torch.manual_seed(seed)
    model = GPT(recipe.model.replace(vocab_size=tokenizer.vocab_size))
    trainer = Trainer(model, data, recipe.train.replace(seed=seed))
    while trainer.steps_done < recipe.train.max_iters:
        trainer.step()
        if trainer.steps_done % CHECK_EVERY == 0:
            best = head_scores(model).best("induction")[2]
            if best >= FORMED:
                log(f"induction seed {seed}: {best:.2f} at step {trainer.steps_done}")
                return trainer.steps_done, trainer.elapsed
    log(f"induction seed {seed}: no head reached {FORMED} in {recipe.train.max_iters} steps")
    return None, trainer.elapsed


def run(text: str, quick: bool, log: Callable[[str], None]) -> list[Row]:
    """Two rows: median steps and median seconds over the seeds (one seed with --quick)."""
    torch.set_num_threads(1)
    results = [steps_to_form(text, seed, log) for seed in SEEDS[: 1 if quick else None]]
    formed = [(s, t) for s, t in results if s is not None]
    note = f"{len(formed)} of {len(results)} seeds formed; median over those, 1 thread"
    if not formed:
        return [Row("Induction head forms (score 0.5)", None, "s", note=note)]
    steps = statistics.median(s for s, _ in formed)
    seconds = statistics.median(t for _, t in formed)
    return [
        Row("Induction head forms: steps", steps, "steps", better="lower", note=note),
        Row(
            "Induction head forms: training seconds",
            seconds,
            "s",
            better="lower",
            limit=TARGET_SECONDS,
            note=note,
        ),
    ]

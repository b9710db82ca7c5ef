"""Fine-tuning: held-out exact match before and after a short fine-tune of the shipped model,
full fine-tuning against LoRA (rank 4 and 8), with seconds per step and training memory.

Accuracy rows compare against the majority answer (always the commonest play): a model that
beats it reads the question. The speed and memory rows compare LoRA against full fine-tuning
of the same model on the same batches, trained in alternating blocks so a busy minute slows
every method alike.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from benchmarks.table import Row, alternate, median
from minigpt.finetune.lora import LoRAConfig
from minigpt.finetune.tasks import build_task
from minigpt.finetune.trainer import FinetuneConfig, FinetuneTrainer
from minigpt.training.checkpoint import load_checkpoint

SHIPPED = Path(__file__).resolve().parents[1] / "assets" / "shakespeare" / "checkpoint.safetensors"
TASK = "play"
METHODS = {  # the command-line equivalent of each: python -m minigpt.finetune --task play ...
    "full": FinetuneConfig(method="full", learning_rate=3e-4),  # --method full --learning_rate 3e-4
    "LoRA r8": FinetuneConfig(lora=LoRAConfig(rank=8, alpha=16)),  # --rank 8
    "LoRA r4": FinetuneConfig(lora=LoRAConfig(rank=4, alpha=8)),  # --rank 4
}
BLOCK = 10  # steps per alternated block


def run(quick: bool, log: Callable[[str], None]) -> list[Row]:
    torch.set_num_threads(1)  # as the lab's server trains
    steps, asked = (40, 64) if quick else (150, 256)
    ckpt = load_checkpoint(SHIPPED)
    task = build_task(TASK)
    trainers = {
        name: FinetuneTrainer(
            ckpt.model, ckpt.tokenizer, task, cfg.replace(max_iters=steps, eval_items=asked)
        )
        for name, cfg in METHODS.items()
    }
    before = trainers["full"].evaluate().accuracy  # LoRA's B starts at zero: the same model
    times = alternate(
        {n: t.step for n, t in trainers.items()}, blocks=steps // BLOCK, per_block=BLOCK
    )
    after = {n: t.evaluate().accuracy for n, t in trainers.items()}
    memory = {n: t.training_state_mb() for n, t in trainers.items()}
    sec = {n: median(ts) for n, ts in times.items()}
    baseline = task.majority_baseline
    log(
        f"finetune {TASK}: majority {baseline:.3f}, untuned {before:.3f}, "
        + ", ".join(f"{n} {after[n]:.3f} ({sec[n] * 1e3:.0f} ms/step)" for n in trainers)
    )
    where = f"{TASK!r} task, {len(task.train)} training items, first {asked} held-out"
    rows = [
        Row(
            f"Fine-tune held-out exact match, {name}, {steps} steps",
            after[name],
            "",
            baseline,
            "majority answer",
            target_ratio=None if quick else 2.0,  # 40 steps is a smoke check, not a result
            note=f"{where}; untuned model {before:.3f}; "
            f"{trainers[name].trainable:,} of {trainers[name].total:,} parameters train",
        )
        for name in trainers
    ]
    for name in ("LoRA r8", "LoRA r4"):
        rows.append(
            Row(
                f"Fine-tune step, {name} vs full",
                sec[name],
                "s",
                sec["full"],
                "full fine-tuning",
                better="lower",
                note=f"batch 16, 1 thread; {steps // BLOCK} alternated blocks of {BLOCK}, medians",
            )
        )
        rows.append(
            Row(
                f"Fine-tune training state (gradients + Adam moments), {name} vs full",
                memory[name],
                "MB",
                memory["full"],
                "full fine-tuning",
                better="lower",
                note="read from the optimizer; the frozen model itself is the same for both",
            )
        )
    return rows

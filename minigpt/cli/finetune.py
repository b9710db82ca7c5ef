"""`python -m minigpt.finetune`: fine-tune a trained model on a task from the plays.

Prints one JSON object per log line on stdout. Line 0 holds the baselines (the majority answer's
held-out accuracy and the untuned model's); evaluation lines add `heldout_accuracy`; the last
line sums up before and after. Writes OUT/checkpoint.safetensors, the same format
`python -m minigpt.train` writes, with any adapters merged in so every page of the lab can load
it, and with --keep_adapters also OUT/adapters.safetensors (only the LoRA weights).

Example:
    python -m minigpt.finetune --task play --method lora --rank 8 --max_iters 150
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import torch

from minigpt.finetune.lora import TARGETS, LoRAConfig, save_adapters
from minigpt.finetune.tasks import DEFAULT_PLAYS, INSTRUCTIONS, build_task
from minigpt.finetune.trainer import METHODS, FinetuneConfig, FinetuneTrainer
from minigpt.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minigpt.training.trainer import TrainingDiverged

SHIPPED = Path(__file__).resolve().parents[2] / "assets" / "shakespeare" / "checkpoint.safetensors"
LOOP_FLAGS = (
    "batch_size",
    "max_iters",
    "learning_rate",
    "warmup_iters",
    "weight_decay",
    "grad_clip",
    "eval_items",
    "seed",
)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(s) for s in text.split(",") if s.strip())


def _names(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m minigpt.finetune",
        description="Fine-tune a model on a task. Flags left out take FinetuneConfig's value.",
    )
    p.add_argument("--init_from", type=Path, default=SHIPPED, help="a lab checkpoint to start from")
    p.add_argument("--task", choices=list(INSTRUCTIONS), default="play")
    p.add_argument("--plays", type=_names, default=DEFAULT_PLAYS, help="comma-separated titles")
    p.add_argument("--method", choices=METHODS, default="lora")
    p.add_argument("--rank", type=int, default=8, help="LoRA rank")
    p.add_argument("--alpha", type=float, help="LoRA scale numerator (default: 2 x rank)")
    p.add_argument("--lora_layers", type=_ints, help="comma-separated block numbers (all)")
    p.add_argument("--lora_targets", type=_names, default=TARGETS, help="attn,mlp")
    p.add_argument("--no_mask", action="store_true", help="count the question's tokens too")
    defaults = FinetuneConfig()
    for name in LOOP_FLAGS:
        value = getattr(defaults, name)
        p.add_argument(f"--{name}", type=type(value), help=f"FinetuneConfig.{name} ({value})")
    p.add_argument("--eval_interval", type=int, default=50, help="evaluate every N steps")
    p.add_argument("--log_interval", type=int, default=10, help="print every N steps")
    p.add_argument("--out", type=Path, default=Path("out-finetune"), help="results directory")
    p.add_argument("--keep_adapters", action="store_true", help="also save the LoRA weights")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    return p


def config_from(args: argparse.Namespace) -> FinetuneConfig:
    """The FinetuneConfig the flags describe."""
    alpha = 2.0 * args.rank if args.alpha is None else args.alpha
    lora = LoRAConfig(args.rank, alpha, args.lora_layers, args.lora_targets)
    loop = {n: getattr(args, n) for n in LOOP_FLAGS if getattr(args, n) is not None}
    return FinetuneConfig(method=args.method, lora=lora, mask_instruction=not args.no_mask, **loop)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if min(args.log_interval, args.eval_interval, args.threads) < 1:
        parser.error("--log_interval, --eval_interval and --threads must be at least 1")
    if args.keep_adapters and args.method != "lora":
        parser.error("--keep_adapters needs --method lora: full fine-tuning has no adapters")
    torch.set_num_threads(args.threads)
    try:
        base = load_checkpoint(args.init_from)
        task = build_task(args.task, args.plays)
        cfg = config_from(args)
        trainer = FinetuneTrainer(base.model, base.tokenizer, task, cfg)
    except (CheckpointError, ValueError) as e:
        parser.error(str(e))
    before = trainer.evaluate().accuracy
    _emit(
        step=0,
        task=task.name,
        train_items=len(task.train),
        heldout_items=len(trainer.heldout),
        majority_answer=task.majority_answer,
        majority_baseline=round(task.majority_baseline, 4),
        heldout_accuracy=round(before, 4),
        trainable=trainer.trainable,
        total=trainer.total,
    )
    try:
        while not trainer.done:
            m = trainer.step()
            line: dict[str, Any] = {}
            if m.step % args.eval_interval == 0 or trainer.done:
                line["heldout_accuracy"] = round(trainer.evaluate().accuracy, 4)
            if line or m.step % args.log_interval == 0:
                _emit(
                    step=m.step,
                    loss=round(m.loss, 4),
                    lr=float(f"{m.lr:.4g}"),
                    grad_norm=round(m.grad_norm, 4),
                    dt=round(m.dt, 4),
                    **line,
                )
    except TrainingDiverged as err:
        _emit(step=err.step, error=str(err))
        print(err, file=sys.stderr)
        return 1
    after = trainer.evals[-1].accuracy
    _save(args, trainer, base.tokenizer, before, after)
    _emit(
        done=True,
        before=round(before, 4),
        after=round(after, 4),
        majority_baseline=round(task.majority_baseline, 4),
        sec_per_step=round(trainer.elapsed / trainer.steps_done, 4),
        out=str(args.out),
    )
    return 0


def _save(args, trainer: FinetuneTrainer, tokenizer, before: float, after: float) -> None:
    cfg = trainer.config
    summary = {
        "task": trainer.task.name,
        "config": dataclasses.asdict(cfg),
        "init_from": str(args.init_from),
        "heldout_accuracy": {"before": before, "after": after},
        "majority_baseline": trainer.task.majority_baseline,
    }
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(
        out / "checkpoint.safetensors",
        trainer.merged_model(),
        tokenizer,
        extra={"finetune": summary},
    )
    if args.keep_adapters:
        save_adapters(out / "adapters.safetensors", trainer.model, cfg.lora)
    history = [dataclasses.asdict(m) for m in trainer.history]
    evals = [dataclasses.asdict(e) for e in trainer.evals]
    (out / "metrics.json").write_text(
        json.dumps({**summary, "history": history, "evals": evals}, indent=1)
    )


def _emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)

"""`python -m minigpt.train`: train from a terminal with nanoGPT's flag names.

Prints one JSON object per log line on stdout (easy to pipe into jq or pandas) and writes
OUT/checkpoint.safetensors and OUT/metrics.json at every evaluation and at the end.
The same command runs data-parallel under `torchrun` (see minigpt/training/distributed.py);
`torchrun_command` writes that command for a run's settings.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import torch

from minigpt.config import POS_EMBS, PRESETS, GPTConfig
from minigpt.model import GPT
from minigpt.tokenizers.tokenizer import build_tokenizer
from minigpt.training.checkpoint import save_checkpoint
from minigpt.training.corpus import CorpusError, check_corpus, decode_upload, shakespeare_text
from minigpt.training.data import TokenData
from minigpt.training.distributed import DEVICES, DistContext, init_distributed, leaving
from minigpt.training.repeats import RepeatData
from minigpt.training.trainer import TrainConfig, Trainer, TrainingDiverged

MODEL_FLAGS = ("n_layer", "n_head", "n_embd", "block_size", "dropout", "pos_emb", "gelu")
TRAIN_FLAGS = tuple(f.name for f in dataclasses.fields(TrainConfig))
MAX_DATA_BYTES = 200_000_000


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m minigpt.train",
        description="Train a small GPT. Flags left out take the preset's or TrainConfig's value.",
    )
    p.add_argument("--preset", default="lab-small", choices=[k for k in PRESETS if "lab" in k])
    for name in MODEL_FLAGS:
        kind = {"dropout": float, "pos_emb": str, "gelu": str}.get(name, int)
        choices = {"pos_emb": POS_EMBS, "gelu": ("exact", "tanh")}.get(name)
        p.add_argument(f"--{name}", type=kind, choices=choices, help=f"GPTConfig.{name}")
    for f in dataclasses.fields(TrainConfig):
        kind = float if f.type in ("float", "float | None") else int
        default = "learning_rate / 10" if f.name == "min_lr" else f.default
        p.add_argument(f"--{f.name}", type=kind, help=f"TrainConfig.{f.name} ({default})")
    p.add_argument("--data", type=Path, help="a UTF-8 text file (default: Shakespeare's plays)")
    p.add_argument("--tokenizer", choices=("char", "bpe", "word"), default="char")
    p.add_argument("--vocab_size", type=int, help="for bpe and word tokenizers")
    p.add_argument("--out", type=Path, default=Path("out"), help="directory for the results")
    p.add_argument(
        "--repeat_fraction",
        type=float,
        default=0.0,
        help="share of training windows that hold a span and its repeat (grows induction heads)",
    )
    p.add_argument(
        "--repeat_random",
        type=float,
        default=0.5,
        help="share of those repeated spans made of random tokens rather than text",
    )
    p.add_argument(
        "--repeat_all_until",
        type=int,
        default=0,
        help="until this step every training window holds a repeated span of random tokens "
        "(only copying predicts it, so the induction head forms first), then --repeat_fraction "
        "of them, --repeat_random of those random",
    )
    p.add_argument("--log_interval", type=int, default=10, help="print every N steps")
    p.add_argument(
        "--weights_only",
        action="store_true",
        help="save the model without optimizer state (a third of the size; cannot resume)",
    )
    p.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (1 is fastest for lab sizes)"
    )
    p.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="auto: this process's CUDA GPU if there is one, else the CPU",
    )
    return p


def _picked(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: getattr(args, n) for n in names if getattr(args, n) is not None}


def _log_line(m, e=None) -> dict[str, Any]:
    """One log record: this step's batch loss, plus the evaluation's losses when there was one."""
    line = {
        "step": m.step,
        "train_loss": round(m.loss, 4),
        "lr": float(f"{m.lr:.4g}"),
        "grad_norm": round(m.grad_norm, 4),
        "tokens_per_s": round(m.tokens_per_s),
        "elapsed": round(m.elapsed, 3),
    }
    if e is not None:
        line.update(val_loss=round(e.val_loss, 4), eval_train_loss=round(e.train_loss, 4))
    return line


def _save(
    out: Path,
    model: GPT,
    tokenizer,
    trainer: Trainer,
    weights_only: bool = False,
    repeats: dict[str, Any] | None = None,
) -> None:
    save_checkpoint(
        out / "checkpoint.safetensors", model, tokenizer, None if weights_only else trainer
    )
    state = trainer.state_dict()
    metrics = {
        "model": model.config.to_dict(),
        "train": trainer.config.to_dict(),
        "tokenizer": tokenizer.kind,
        "history": state["history"],
        "evals": state["evals"],
    }
    if repeats:  # how the training text was made to repeat
        metrics["repeats"] = repeats
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.log_interval < 1 or args.threads < 1:
        parser.error("--log_interval and --threads must be at least 1")
    if args.repeat_all_until < 0:
        parser.error("--repeat_all_until must be at least 0")
    torch.set_num_threads(args.threads)
    try:
        ctx = init_distributed(args.device)  # one process, or this one's place under torchrun
    except ValueError as e:
        parser.error(str(e))
    with leaving():  # every process returns from the same run, so they leave together
        return _train(parser, args, ctx)


def _train(parser: argparse.ArgumentParser, args: argparse.Namespace, ctx: DistContext) -> int:
    """Build the run and train it. Under torchrun every process runs this; rank 0 alone writes."""
    try:
        if args.data is None:
            text = shakespeare_text()
        else:
            text = check_corpus(decode_upload(args.data.read_bytes(), MAX_DATA_BYTES), 100)
        tcfg = TrainConfig(**_picked(args, TRAIN_FLAGS))
        if problems := tcfg.problems():
            raise ValueError("; ".join(problems))
        tokenizer = build_tokenizer(args.tokenizer, text, vocab_size=args.vocab_size)
        overrides = _picked(args, MODEL_FLAGS)
        cfg = GPTConfig.preset(args.preset, **overrides, vocab_size=tokenizer.vocab_size)
        repeats: dict[str, Any] = {}
        if args.repeat_fraction > 0 or args.repeat_all_until > 0:
            data = RepeatData.from_text(
                text, tokenizer, tcfg.val_fraction, args.repeat_fraction, args.repeat_random
            )
            repeats = {"repeat_fraction": args.repeat_fraction, "repeat_random": args.repeat_random}
            if args.repeat_all_until > 0:
                repeats["repeat_all_until"] = args.repeat_all_until
        else:
            data = TokenData.from_text(text, tokenizer, tcfg.val_fraction)
        torch.manual_seed(tcfg.seed)
        model = GPT(cfg).to(ctx.device)
        trainer = Trainer(model, data, tcfg, ctx)
    except (OSError, CorpusError, ValueError) as e:
        if not ctx.is_main:
            raise SystemExit(2) from None  # every process failed alike; rank 0 says why
        parser.error(str(e))
    try:
        while trainer.steps_done < tcfg.max_iters:
            if isinstance(data, RepeatData):  # a curriculum: copying first, then mostly text
                first = trainer.steps_done < args.repeat_all_until
                data.repeat_fraction = 1.0 if first else args.repeat_fraction
                data.random_fraction = 1.0 if first else args.repeat_random
            m = trainer.step()
            e = trainer.evaluate() if trainer.eval_due else None
            if not ctx.is_main:
                continue
            if e is not None or m.step % args.log_interval == 0:
                print(json.dumps(_log_line(m, e)), flush=True)
            if e is not None:
                _save(args.out, model, tokenizer, trainer, args.weights_only, repeats)
    except TrainingDiverged as err:  # every process raises it at the same step
        if not ctx.is_main:
            return 1
        # The last sane weights, for a look.
        _save(args.out, model, tokenizer, trainer, args.weights_only, repeats)
        print(json.dumps({"step": err.step, "error": str(err)}), flush=True)
        print(err, file=sys.stderr)
        return 1
    return 0


def torchrun_command(
    model_cfg: GPTConfig,
    train_cfg: TrainConfig,
    tokenizer_kind: str = "char",
    vocab_size: int | None = None,
    nproc: int = 8,
    nnodes: int = 1,
    *,
    rdzv_endpoint: str = "HOST:29500",
    data: str | None = None,
    device: str = "auto",
    out: str = "out",
) -> str:
    """The `torchrun` command that trains this run on nproc processes on each of nnodes machines.

    The global batch (batch_size x gradient_accumulation_steps windows) stays the same, so the
    run takes the same steps, shared out: the accumulation becomes the smallest multiple of the
    number of processes that divides the global batch, batch_size the rest (if none divides it,
    batch_size stays and the global batch grows). Across machines, run the same command on each;
    rdzv_endpoint is host:port of one of them that all can reach.
    Example: torchrun_command(cfg, TrainConfig(batch_size=32), nproc=4) trains with
    --batch_size 8 --gradient_accumulation_steps 4.
    """
    if nproc < 1 or nnodes < 1:
        raise ValueError(f"nproc and nnodes must be at least 1 (got {nproc} and {nnodes})")
    preset = PRESETS[build_parser().get_default("preset")]
    fixed = [
        f.name for f in dataclasses.fields(GPTConfig) if f.name not in (*MODEL_FLAGS, "vocab_size")
    ]
    if unset := [n for n in fixed if getattr(model_cfg, n) != getattr(preset, n)]:
        raise ValueError(f"the command line cannot set {', '.join(unset)}")
    world = nproc * nnodes
    batch = train_cfg.batch_size * train_cfg.gradient_accumulation_steps
    start = -(-train_cfg.gradient_accumulation_steps // world) * world  # rounded up to a multiple
    fits = [a for a in range(start, batch + 1, world) if batch % a == 0]
    train = train_cfg.replace(
        gradient_accumulation_steps=fits[0] if fits else start,
        batch_size=batch // fits[0] if fits else train_cfg.batch_size,
    )
    if nnodes == 1:
        lines = [f"torchrun --standalone --nproc_per_node={nproc} -m minigpt.train"]
    else:
        lines = [
            f"torchrun --nnodes={nnodes} --nproc_per_node={nproc}",
            f"    --rdzv_backend=c10d --rdzv_endpoint={rdzv_endpoint} --rdzv_id=minigpt -m minigpt.train",
        ]
    flags: list[tuple[str, Any]] = [(n, getattr(model_cfg, n)) for n in MODEL_FLAGS]
    flags.append(("tokenizer", tokenizer_kind))
    if tokenizer_kind != "char" and vocab_size is not None:
        flags.append(("vocab_size", vocab_size))
    default = TrainConfig()
    for name in TRAIN_FLAGS:
        value = getattr(train, name)
        if value != getattr(default, name) or name in ("batch_size", "gradient_accumulation_steps"):
            flags.append((name, value))
    flags += [("data", data), ("device", None if device == "auto" else device), ("out", out)]
    line = "   "
    for name, value in flags:
        if value is None:
            continue
        flag = f" --{name} {shlex.quote(str(value))}"
        if len(line) + len(flag) > 92:
            lines.append(line)
            line = "   "
        line += flag
    return " \\\n".join([*lines, line])

"""`python -m minigpt.train`: train from a terminal with nanoGPT's flag names.

Prints one JSON object per log line on stdout (easy to pipe into jq or pandas) and writes
OUT/checkpoint.safetensors and OUT/metrics.json at every evaluation and at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import torch

from minigpt.checkpoint import save_checkpoint
from minigpt.config import POS_EMBS, PRESETS, GPTConfig
from minigpt.corpus import CorpusError, check_corpus, decode_upload, shakespeare_text
from minigpt.data import TokenData
from minigpt.model import GPT
from minigpt.tokenizer import build_tokenizer
from minigpt.train import TrainConfig, Trainer, TrainingDiverged

MODEL_FLAGS = ("n_layer", "n_head", "n_embd", "block_size", "dropout", "pos_emb")
TRAIN_FLAGS = tuple(f.name for f in dataclasses.fields(TrainConfig))
MAX_DATA_BYTES = 200_000_000


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m minigpt.train",
        description="Train a small GPT. Flags left out take the preset's or TrainConfig's value.",
    )
    p.add_argument("--preset", default="lab-small", choices=[k for k in PRESETS if "lab" in k])
    for name in MODEL_FLAGS:
        kind = {"dropout": float, "pos_emb": str}.get(name, int)
        choices = POS_EMBS if name == "pos_emb" else None
        p.add_argument(f"--{name}", type=kind, choices=choices, help=f"GPTConfig.{name}")
    for f in dataclasses.fields(TrainConfig):
        kind = float if f.type in ("float", "float | None") else int
        default = "learning_rate / 10" if f.name == "min_lr" else f.default
        p.add_argument(f"--{f.name}", type=kind, help=f"TrainConfig.{f.name} ({default})")
    p.add_argument("--data", type=Path, help="a UTF-8 text file (default: Shakespeare's plays)")
    p.add_argument("--tokenizer", choices=("char", "bpe", "word"), default="char")
    p.add_argument("--vocab_size", type=int, help="for bpe and word tokenizers")
    p.add_argument("--out", type=Path, default=Path("out"), help="directory for the results")
    p.add_argument("--log_interval", type=int, default=10, help="print every N steps")
    p.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (1 is fastest for lab sizes)"
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


def _save(out: Path, model: GPT, tokenizer, trainer: Trainer) -> None:
    save_checkpoint(out / "checkpoint.safetensors", model, tokenizer, trainer)
    state = trainer.state_dict()
    metrics = {
        "model": model.config.to_dict(),
        "train": trainer.config.to_dict(),
        "tokenizer": tokenizer.kind,
        "history": state["history"],
        "evals": state["evals"],
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.log_interval < 1 or args.threads < 1:
        parser.error("--log_interval and --threads must be at least 1")
    torch.set_num_threads(args.threads)
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
        data = TokenData.from_text(text, tokenizer, tcfg.val_fraction)
        torch.manual_seed(tcfg.seed)
        model = GPT(cfg)
        trainer = Trainer(model, data, tcfg)
    except (OSError, CorpusError, ValueError) as e:
        parser.error(str(e))
    try:
        while trainer.steps_done < tcfg.max_iters:
            m = trainer.step()
            e = trainer.evaluate() if trainer.eval_due else None
            if e is not None or m.step % args.log_interval == 0:
                print(json.dumps(_log_line(m, e)), flush=True)
            if e is not None:
                _save(args.out, model, tokenizer, trainer)
    except TrainingDiverged as err:
        _save(args.out, model, tokenizer, trainer)  # the last sane weights, for a look
        print(json.dumps({"step": err.step, "error": str(err)}), flush=True)
        print(err, file=sys.stderr)
        return 1
    return 0

"""`python -m minigpt.experiments`: train the positional-encoding comparison, write it as JSON.

Every encoding is trained for every seed on the same text, with the same batches and the same
starting weights for the parts they share (minigpt/analysis/extrapolation.py). The encodings of one seed
train interleaved, a step each in turn, so a busy machine slows them all alike and the seconds
per step stay comparable. Prints one JSON line per finished run; writes OUT/results.json.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from minigpt.analysis.extrapolation import (
    MODES,
    extrapolation_lengths,
    extrapolation_losses,
    start_trainers,
)
from minigpt.config import POS_EMBS, GPTConfig
from minigpt.sampling import generate
from minigpt.tokenizers.tokenizer import CharTokenizer
from minigpt.training.corpus import shakespeare_text
from minigpt.training.data import TokenData
from minigpt.training.trainer import TrainConfig

FORMAT, VERSION = "minigpt-compare", 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m minigpt.experiments",
        description="Train models that differ only in positional encoding; measure extrapolation.",
    )
    p.add_argument("--out", type=Path, default=Path("assets/compare"))
    p.add_argument("--encodings", nargs="+", choices=POS_EMBS, default=list(POS_EMBS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--n_layer", type=int, default=2)
    p.add_argument("--n_head", type=int, default=4)
    p.add_argument("--n_embd", type=int, default=64)
    p.add_argument("--block_size", type=int, default=64)
    p.add_argument(
        "--gelu",
        choices=("exact", "tanh"),
        default="tanh",
        help="GPTConfig.gelu; tanh by default, as in the shipped comparison (made before the "
        "lab's models switched to the faster exact form)",
    )
    p.add_argument(
        "--scale_embeddings",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="multiply token embeddings by sqrt(n_embd) as Vaswani et al. do, so the fixed "
        "sinusoid (amplitude 1) does not drown them (they start with std 0.02)",
    )
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--max_iters", type=int, default=300)
    p.add_argument("--learning_rate", type=float, default=3e-3)
    p.add_argument("--warmup_iters", type=int, default=40)
    p.add_argument("--eval_interval", type=int, default=50)
    p.add_argument("--eval_iters", type=int, default=10)
    p.add_argument(
        "--log_interval", type=int, default=10, help="curve points: mean loss per N steps"
    )
    p.add_argument("--eval_tokens", type=int, default=16_384, help="held-out tokens measured")
    p.add_argument("--prompt", default="ROMEO:\n")
    p.add_argument("--sample_tokens", type=int, default=200)
    p.add_argument("--sample_seed", type=int, default=1337)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--plays", nargs="+", help="train on these plays only (default: all of them)")
    p.add_argument("--threads", type=int, default=1)
    return p


def sample(model, tokenizer, prompt: str, n: int, seed: int, temperature: float) -> str:
    """The same prompt and sampling seed for every model, so differences come from the model."""
    ids = torch.tensor([tokenizer.encode(prompt)])
    out = generate(
        model, ids, n, temperature=temperature, generator=torch.Generator().manual_seed(seed)
    )
    return tokenizer.decode(out[0].tolist())


def _curve_point(step: int, losses: list[float], evals: dict[int, Any]) -> dict[str, Any]:
    point = {"step": step, "train_loss": round(statistics.fmean(losses), 4)}
    if step in evals:
        point["val_loss"] = round(evals[step].val_loss, 4)
    return point


def run_comparison(args: argparse.Namespace, log=None) -> dict[str, Any]:
    """Train every (encoding, seed) pair and measure it; returns the JSON-ready results."""
    t_start = time.perf_counter()
    text = shakespeare_text(args.plays)
    tokenizer = CharTokenizer.train(text)
    tcfg = TrainConfig(
        batch_size=args.batch_size,
        max_iters=args.max_iters,
        learning_rate=args.learning_rate,
        warmup_iters=args.warmup_iters,
        eval_interval=args.eval_interval,
        eval_iters=args.eval_iters,
    )
    base = GPTConfig(
        n_layer=args.n_layer,
        n_head=args.n_head,
        n_embd=args.n_embd,
        block_size=args.block_size,
        vocab_size=tokenizer.vocab_size,
        scale_embeddings=args.scale_embeddings,
        gelu=args.gelu,
    )
    data = TokenData.from_text(text, tokenizer, tcfg.val_fraction)
    lengths = extrapolation_lengths(base.block_size)
    runs = []
    for seed in args.seeds:
        trainers = start_trainers(base, tcfg, data, args.encodings, seed)
        pending = {p: [] for p in trainers}  # train losses since the last curve point
        curves = {p: [] for p in trainers}
        for _ in range(tcfg.max_iters):
            for pos_emb, tr in trainers.items():  # interleaved: load spikes hit all alike
                pending[pos_emb].append(tr.step().loss)
                if tr.eval_due:
                    tr.evaluate()
                n = tr.steps_done
                if n % args.log_interval == 0 or n == tcfg.max_iters:
                    evals = {e.step: e for e in tr.evals}
                    curves[pos_emb].append(_curve_point(n, pending[pos_emb], evals))
                    pending[pos_emb] = []
        for pos_emb, tr in trainers.items():
            model = tr.model
            extrapolation = {
                mode: extrapolation_losses(
                    model, data.val, lengths, mode, args.eval_tokens
                ).to_dict()
                for mode in MODES
            }
            run = {
                "pos_emb": pos_emb,
                "seed": seed,
                "params": model.num_params(),
                "seconds_per_step": statistics.median(m.dt for m in tr.history),
                "final_val_loss": tr.evals[-1].val_loss,
                "curve": curves[pos_emb],
                "extrapolation": extrapolation,
                "sample": sample(
                    model,
                    tokenizer,
                    args.prompt,
                    args.sample_tokens,
                    args.sample_seed,
                    args.temperature,
                ),
            }
            runs.append(run)
            if log:
                windows = extrapolation["windows"]
                log(
                    {
                        "pos_emb": pos_emb,
                        "seed": seed,
                        "val_loss": round(run["final_val_loss"], 4),
                        "windows": dict(zip(windows["x"], windows["loss"], strict=True)),
                        "elapsed": round(time.perf_counter() - t_start, 1),
                    }
                )
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": base.to_dict(),
        "train": tcfg.to_dict(),
        "tokenizer": tokenizer.kind,
        "corpus": "shakespeare" if args.plays is None else "shakespeare:" + ",".join(args.plays),
        "encodings": list(dict.fromkeys(args.encodings)),
        "seeds": args.seeds,
        "eval": {"lengths": lengths, "tokens": args.eval_tokens, "val_tokens": len(data.val)},
        "prompt": args.prompt,
        "sampling": {
            "tokens": args.sample_tokens,
            "seed": args.sample_seed,
            "temperature": args.temperature,
        },
        "seconds": round(time.perf_counter() - t_start, 1),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    results = run_comparison(args, log=lambda line: print(json.dumps(line), flush=True))
    results["command"] = shlex.join(["python", "-m", "minigpt.experiments", *argv])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, separators=(",", ":")))
    print(json.dumps({"wrote": str(args.out / "results.json"), "seconds": results["seconds"]}))
    return 0

"""The training-step race up close: our step against the reference's, A/B/A/B in one process.

`python -m benchmarks.training_ab [--rounds 30] [--steps 2] [--tiny] [--profile]`

Each round times a block of our steps and a block of the reference's (the order swapped every
round) by two clocks at once: this thread's CPU time and wall time. One thread runs the whole
step there, so CPU time leaves out the time other jobs hold the core, which on this shared
machine is most of the wall time. It prints the ratio (above 1: ours faster) as the median of
the per-round ratios with its quartiles, for each clock.

--tiny shrinks the model to width 16, context 8, batch 1: the same operations in the same order
with next to no arithmetic, so the step is what Python, dispatch and autograd cost.
--profile prints where the time goes instead: torch.profiler's self time per operation, taken
as the median per call (a call the OS interrupted is an outlier, not a cost) times its calls per
step, grouped by part of the model.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from benchmarks.reference_gpt import RefConfig, RefGPT, RefTrain, RefTrainer
from benchmarks.training import char_data, vocab_size
from minigpt.config import GPTConfig
from minigpt.model import GPT
from minigpt.training.trainer import TrainConfig, Trainer

TEXT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tinyshakespeare.txt"
# (part of the step, operation name prefixes), first match wins; the rest is "other operations"
PARTS = [
    (
        "matrix products (mm, addmm, oneDNN's)",
        ("aten::mm", "aten::addmm", "aten::bmm", "mkldnn::_linear_pointwise"),
    ),
    ("attention (SDPA's flash kernel)", ("aten::_scaled_dot_product_flash",)),
    ("GELU", ("aten::gelu",)),
    ("layer norms", ("aten::native_layer_norm",)),
    ("AdamW and clipping", ("aten::_fused_adamw", "aten::linalg_vector_norm", "aten::_foreach")),
    ("copies (copy_, cat)", ("aten::copy_", "aten::cat", "aten::clone")),
    (
        "loss, embeddings, adds, bias sums",
        ("aten::add", "aten::sum", "aten::_log_softmax", "aten::nll_loss", "aten::embedding"),
    ),
]


def sides(text: str, tiny: bool) -> dict[str, Callable[[], object]]:
    """Our Trainer.step and the reference's step at nanoGPT's CPU shape (or the tiny one)."""
    data = char_data(text)
    width, context, batch = (16, 8, 1) if tiny else (128, 64, 12)
    shape = dict(n_layer=4, n_head=4, n_embd=width, block_size=context, vocab_size=vocab_size(data))
    torch.manual_seed(0)
    ours = Trainer(GPT(GPTConfig(**shape)), data, TrainConfig(batch_size=batch, max_iters=10**6))
    ref = RefTrainer(
        RefGPT(RefConfig(**shape)), data.train, RefTrain(batch_size=batch, max_iters=10**6)
    )
    return {"ours": ours.step, "reference": ref.step}


def race(fns: dict[str, Callable[[], object]], rounds: int, steps: int) -> None:
    for _ in range(3):  # warm up: allocator, Adam's state
        for fn in fns.values():
            fn()
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    wall: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(rounds):
        for name in list(fns) if i % 2 == 0 else list(fns)[::-1]:
            c, w = time.thread_time(), time.perf_counter()
            for _ in range(steps):
                fns[name]()
            cpu[name].append((time.thread_time() - c) / steps)
            wall[name].append((time.perf_counter() - w) / steps)
    for clock, t in (("CPU", cpu), ("wall", wall)):
        ratios = [r / o for o, r in zip(t["ours"], t["reference"], strict=True)]
        q1, mid, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
        print(
            f"{clock:>4}: ours {statistics.median(t['ours']) * 1e3:.1f} ms, reference "
            f"{statistics.median(t['reference']) * 1e3:.1f} ms a step; ratio {mid:.3f}x "
            f"(quartiles {q1:.3f}-{q3:.3f}, {rounds} rounds of {steps})"
        )


def profile(fns: dict[str, Callable[[], object]], steps: int) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    for name, fn in fns.items():
        for _ in range(3):
            fn()
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(steps):
                fn()
        calls: dict[str, list[float]] = collections.defaultdict(list)
        for event in prof.events():
            calls[event.key].append(event.self_cpu_time_total)
        ms: collections.Counter[str] = collections.Counter()
        for key, us in calls.items():
            part = next((p for p, pre in PARTS if key.startswith(pre)), "other operations")
            ms[part] += statistics.median(us) * len(us) / steps / 1e3
        total = sum(ms.values())
        print(f"\n{name}: operations {total:.1f} ms a step")
        for part, t in ms.most_common():
            print(f"  {part:35} {t:6.1f} ms {100 * t / total:5.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--steps", type=int, default=2, help="steps per block")
    parser.add_argument("--tiny", action="store_true", help="width 16: the overhead alone")
    parser.add_argument("--profile", action="store_true", help="where the time goes")
    parser.add_argument("--text", type=Path, default=TEXT, help="tinyshakespeare.txt")
    args = parser.parse_args()
    torch.set_num_threads(1)
    fns = sides(args.text.read_text(), args.tiny)
    if args.profile:
        profile(fns, steps=max(10, args.steps))
    else:
        race(fns, args.rounds, args.steps)


if __name__ == "__main__":
    main()

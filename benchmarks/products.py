"""The training step's matrix products one by one: MKL (torch's default) against oneDNN.

`python -m benchmarks.products [--width 128] [--rows 768] [--models]`

For each Linear of a block at the given width (query/key/value, attention output, MLP in, MLP
out) and the output head, it times the three products a training step makes: forward
(x W^T), the input's gradient (dy W) and the weight's (dy^T x), each the way minigpt.linear
calls oneDNN and the way autograd calls MKL for nn.Linear, and prints GFLOP/s and the ratio
(above 1: oneDNN faster). Then whole layers, forward and backward as training runs them
(minigpt.linear's autograd Function against F.linear), over a grid of shapes sorted by
multiply-adds (rows x in x out): where oneDNN starts to pay is minigpt.linear.MIN_MULTIPLY_ADDS.
--models times instead whole training steps (Trainer.step) of models from tiny to larger than
nanoGPT's, with minigpt.linear's oneDNN path on and off. One thread, CPU time, the median of 7
blocks per side, alternated.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from benchmarks.table import alternate, median
from minigpt.linear import MIN_MULTIPLY_ADDS, OneDNNLinear, onednn_product

VOCAB = 65  # tinyshakespeare's characters: the output head's width


def both(a: torch.Tensor, b: torch.Tensor) -> tuple[Callable[[], object], Callable[[], object]]:
    """a @ b^T by MKL (torch.mm, as autograd multiplies for nn.Linear) and by oneDNN."""
    return (lambda: torch.mm(a, b.t())), (lambda: onednn_product(a, b, None))


def race(
    mkl: Callable[[], object], onednn: Callable[[], object], calls: int = 30
) -> tuple[float, float]:
    """Median CPU seconds per call of each, in 7 alternated blocks of `calls` after a warm-up."""
    fns = {"mkl": mkl, "onednn": onednn}
    alternate(fns, blocks=1, per_block=5)
    times = alternate(fns, blocks=7, per_block=calls, clock=time.thread_time)
    return median(times["mkl"]), median(times["onednn"])


def products(rows: int, width: int) -> None:
    layers = {
        "query/key/value": (width, 3 * width),
        "attention output": (width, width),
        "MLP in": (width, 4 * width),
        "MLP out": (4 * width, width),
        "output head": (width, VOCAB),
    }
    print(f"{rows} rows (batch x context), width {width}: GFLOP/s MKL -> oneDNN")
    for name, (k, n) in layers.items():
        x, w, dy = torch.randn(rows, k), torch.randn(n, k), torch.randn(rows, n)
        flops = 2 * rows * k * n
        cases = {  # each is a @ b^T: forward x W^T, input grad dy W, weight grad dy^T x
            "forward": both(x, w),
            "input grad": both(dy, w.t()),
            "weight grad": both(dy.t(), x.t()),
        }
        cells = []
        for case, fns in cases.items():
            t_mkl, t_dnn = race(*fns)
            cells.append(
                f"{case} {flops / t_mkl / 1e9:.0f} -> {flops / t_dnn / 1e9:.0f} "
                f"({t_mkl / t_dnn:.2f}x)"
            )
        print(f"  {name:17} " + "; ".join(cells))


def layer_sweep() -> None:
    print("a layer's forward and backward, by multiply-adds: oneDNN's speed over MKL's")
    found = []
    for rows in (64, 256, 1024, 2048):
        for k, n in ((16, 48), (32, 128), (64, 64), (64, 192), (128, 65), (128, 128), (128, 384)):
            x = torch.randn(rows, k, requires_grad=True)
            w, b = torch.randn(n, k, requires_grad=True), torch.randn(n, requires_grad=True)
            t_mkl, t_dnn = race(
                train_layer(F.linear, x, w, b), train_layer(OneDNNLinear.apply, x, w, b)
            )
            found.append((rows * k * n, f"{rows:5} rows {k:4} -> {n:4}", t_mkl / t_dnn))
    for macs, shape, speed in sorted(found):
        mark = "  (MIN_MULTIPLY_ADDS and up)" if macs >= MIN_MULTIPLY_ADDS else ""
        print(f"  {macs / 1e6:7.2f} M  {shape}  {speed:.2f}x{mark}")


def train_layer(linear: Callable, *args: torch.Tensor) -> Callable[[], object]:
    """One training pass of a layer: forward, then backward into all three inputs."""
    return lambda: linear(*args).sum().backward()


MODELS = [  # (layers, width, context, batch)
    (2, 16, 8, 8),
    (2, 32, 16, 4),
    (2, 32, 32, 4),
    (2, 64, 32, 4),
    (2, 64, 32, 8),
    (4, 64, 64, 8),
    (4, 64, 64, 32),  # the lab's live run
    (4, 128, 64, 12),  # nanoGPT's CPU run
    (6, 192, 128, 8),
]


def model_sweep() -> None:
    from benchmarks.training import without_onednn
    from minigpt.config import GPTConfig
    from minigpt.model import GPT
    from minigpt.training.data import TokenData
    from minigpt.training.trainer import TrainConfig, Trainer

    print("a training step with minigpt.linear's oneDNN path, over the step without it")
    data = TokenData(torch.randint(0, VOCAB, (200_000,)).tolist())
    for layers, width, context, batch in MODELS:
        torch.manual_seed(0)
        cfg = GPTConfig(
            n_layer=layers, n_head=4, n_embd=width, block_size=context, vocab_size=VOCAB
        )
        trainer = Trainer(GPT(cfg), data, TrainConfig(batch_size=batch, max_iters=10**6))
        t_off, t_on = race(without_onednn(trainer.step), trainer.step, calls=3)
        print(
            f"  {layers} layers, width {width:3}, context {context:3}, batch {batch:2}: "
            f"{t_on * 1e3:7.2f} ms against {t_off * 1e3:7.2f} ms, {t_off / t_on:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=128, help="n_embd (nanoGPT's CPU run: 128)")
    parser.add_argument("--rows", type=int, default=768, help="batch x context (12 x 64)")
    parser.add_argument("--models", action="store_true", help="whole training steps, on and off")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.models:
        model_sweep()
        return
    products(args.rows, args.width)
    layer_sweep()


if __name__ == "__main__":
    main()

"""The training step's matrix products one by one: MKL (torch's default) against oneDNN.

`python -m benchmarks.products [--width 128] [--rows 768]`

For each Linear of a block at the given width (query/key/value, attention output, MLP in, MLP
out) and the output head, it times the three products a training step makes: forward
(x W^T), the input's gradient (dy W) and the weight's (dy^T x), each the way minigpt.linear
calls oneDNN and the way autograd calls MKL for nn.Linear, and prints GFLOP/s and the ratio
(above 1: oneDNN faster). Then the forward alone at a few row counts, which is where
minigpt.linear.MIN_ROWS comes from. One thread, CPU time, the median of 7 blocks per side,
alternated.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from minigpt.linear import onednn_product

VOCAB = 65  # tinyshakespeare's characters: the output head's width


def _seconds(fn: Callable[[], object], calls: int) -> float:
    start = time.thread_time()
    for _ in range(calls):
        fn()
    return (time.thread_time() - start) / calls


def both(a: torch.Tensor, b: torch.Tensor) -> tuple[Callable[[], object], Callable[[], object]]:
    """a @ b^T by MKL (torch.mm, as autograd multiplies for nn.Linear) and by oneDNN."""
    return (lambda: torch.mm(a, b.t())), (lambda: onednn_product(a, b, None))


def race(mkl: Callable[[], object], onednn: Callable[[], object]) -> tuple[float, float]:
    """Median seconds per call of each, in alternated blocks after a warm-up."""
    for fn in (mkl, onednn):
        for _ in range(5):
            fn()
    a, b = [], []
    for i in range(7):
        pair = [(mkl, a), (onednn, b)]
        for fn, out in pair if i % 2 == 0 else pair[::-1]:
            out.append(_seconds(fn, 30))
    return statistics.median(a), statistics.median(b)


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


def row_sweep(width: int) -> None:
    print(f"forward only, width {width}, by rows: oneDNN's speed over MKL's")
    for k, n in ((width, 3 * width), (width, width), (4 * width, width), (width, VOCAB)):
        cells = []
        for rows in (1, 8, 16, 32, 48, 64, 96, 128):
            t_mkl, t_dnn = race(*both(torch.randn(rows, k), torch.randn(n, k)))
            cells.append(f"{rows}: {t_mkl / t_dnn:.2f}x")
        print(f"  {k:4} -> {n:4}  " + ", ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=128, help="n_embd (nanoGPT's CPU run: 128)")
    parser.add_argument("--rows", type=int, default=768, help="batch x context (12 x 64)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    products(args.rows, args.width)
    row_sweep(args.width)


if __name__ == "__main__":
    main()

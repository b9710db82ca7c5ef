"""nn.Linear whose training products go through oneDNN: the same arithmetic, another library.

Why: torch multiplies float32 matrices on the CPU with Intel's MKL, and MKL runs its AVX2 code
on AMD processors even where they have AVX-512. oneDNN, which torch also ships, generates code
for the CPU it finds. On the AMD server these numbers were measured on, oneDNN's products at
nanoGPT's training shapes ran 1.5-2.3x MKL's (`python -m benchmarks.products`; RESULTS.md,
"The training step through oneDNN"). Both compute in float32; they add up in another order,
so results differ from F.linear's in the last bits, as any two matrix libraries' do.

Only a large training product takes this path: one that autograd records, in float32 on the
CPU, of at least MIN_MULTIPLY_ADDS. A training run multiplies the same few shapes at every
step, while pages multiply a new shape for every sentence typed, and oneDNN keeps compiled
code for each shape it has seen, per thread (a trainer thread's shapes came to about 6 MB:
`python -m benchmarks --only onednn_memory`). A small product is faster on MKL anyway: each
oneDNN call costs more before it starts, and a layer of a small model never earns it back.

Example: layer = Linear(128, 512); y = layer(x) computes what nn.Linear computes, with
gradients to x, weight and bias.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

# rows x in x out of one product. A layer's forward and backward by oneDNN were slower than
# by MKL below 1-3 million of them (it varied between runs) and faster from 4 million up in
# every run, whatever the shape (`python -m benchmarks.products`). nanoGPT's CPU run: 6-50
# million a product; a sampled token: a few thousand.
MIN_MULTIPLY_ADDS = 1 << 22  # 4,194,304
# oneDNN keeps each shape's compiled code in two per-thread caches of 1024 shapes by default,
# which a long-lived server never empties (1,000 shapes in one thread held 1.3 GB). 64 holds a
# few training configurations' 15 shapes each.
# Read at the first product, so setting them here works unless someone used oneDNN before.
CACHE_CAPACITY = "64"
os.environ.setdefault("LRU_CACHE_CAPACITY", CACHE_CAPACITY)
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", CACHE_CAPACITY)

# `_linear_pointwise` is the op torch's own compiler calls for a oneDNN linear layer: private,
# so checked here (torch is pinned); without it every product stays on F.linear.
AVAILABLE = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
# MINIGPT_ONEDNN=0 keeps every product on torch's default library (MKL).
ENABLED = AVAILABLE and os.environ.get("MINIGPT_ONEDNN", "1") != "0"


def onednn_product(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None
) -> torch.Tensor:
    """x @ weight.T (+ bias) by oneDNN, for 2-D x (rows, in) and weight (out, in): (rows, out).

    Either may be a transposed view: oneDNN reads the strides, so no copy is made.
    """
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


class OneDNNLinear(torch.autograd.Function):
    """y = x W^T + b forward and backward, every product by oneDNN.

    The backward is the textbook one: dx = dy W, dW = dy^T x, db = dy summed over rows.
    """

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
    ) -> torch.Tensor:
        rows = x.reshape(-1, x.size(-1))  # (..., in) -> (N, in)
        ctx.save_for_backward(rows, weight)
        return onednn_product(rows, weight, bias).view(*x.shape[:-1], weight.size(0))

    @staticmethod
    @once_differentiable
    def backward(
        ctx: torch.autograd.function.FunctionCtx, grad_out: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        rows, weight = ctx.saved_tensors
        dy = grad_out.reshape(-1, weight.size(0))  # (N, out)
        need_x, need_w, need_b = ctx.needs_input_grad  # need_b is False when bias is None
        dx = onednn_product(dy, weight.t(), None).view(*grad_out.shape[:-1], -1) if need_x else None
        dw = onednn_product(dy.t(), rows.t(), None) if need_w else None  # (out, N) @ (N, in)
        db = dy.sum(0) if need_b else None
        return dx, dw, db


def takes_onednn(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """True for a product autograd records, in float32 on the CPU, of MIN_MULTIPLY_ADDS or more.

    Not under CPU autocast: there F.linear multiplies in the autocast's dtype, and so should we.
    """
    return (
        ENABLED
        and x.numel() * weight.size(0) >= MIN_MULTIPLY_ADDS  # rows x in x out; first: cheap
        and torch.is_grad_enabled()
        and not torch.is_autocast_enabled("cpu")
        and (x.requires_grad or weight.requires_grad)
        and x.dtype == weight.dtype == torch.float32
        and x.device.type == weight.device.type == "cpu"
        and x.dim() >= 2
    )


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """F.linear(x, weight, bias), a training product taken by oneDNN (see takes_onednn)."""
    if takes_onednn(x, weight):
        return OneDNNLinear.apply(x, weight, bias)
    return F.linear(x, weight, bias)


class Linear(nn.Linear):
    """nn.Linear (same parameters, names and checkpoints) whose forward is `linear` above.

    A subclass, so everything that looks for nn.Linear (weight init, LoRA, GPT-2 loading)
    finds it; a LoRA parametrization on `weight` works, since forward reads self.weight.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias)

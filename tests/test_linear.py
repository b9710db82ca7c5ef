"""minigpt.linear: oneDNN's products agree with F.linear's, forward and backward, and only
training products of enough rows take them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from minigpt import linear as lin
from minigpt.config import GPTConfig
from minigpt.model import GPT
from minigpt.training.adamw import AdamW

pytestmark = pytest.mark.skipif(not lin.AVAILABLE, reason="this torch has no oneDNN")


@pytest.fixture
def onednn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lin, "ENABLED", True)


@pytest.fixture
def every_product(onednn, monkeypatch: pytest.MonkeyPatch) -> None:
    """The path for products of any size, so small tests exercise it."""
    monkeypatch.setattr(lin, "MIN_MULTIPLY_ADDS", 0)


def _grads(fn, x, w, b):
    x, w, b = (
        None if t is None else t.detach().clone().requires_grad_(t.requires_grad) for t in (x, w, b)
    )
    y = fn(x, w, b)
    (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()  # every output weighed
    return y, x.grad, w.grad, None if b is None else b.grad


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("need", ["all", "weight only", "input only"])
def test_values_and_gradients_match_f_linear(every_product, bias: bool, need: str) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 40, 32, generator=g).requires_grad_(need != "weight only")
    w = torch.randn(48, 32, generator=g).requires_grad_(need != "input only")
    b = torch.randn(48, generator=g).requires_grad_(need != "input only") if bias else None
    assert lin.takes_onednn(x, w)
    ours = _grads(lin.linear, x, w, b)
    ref = _grads(F.linear, x, w, b)
    expected = [True, need != "weight only", need != "input only", bias and need != "input only"]
    assert [a is not None for a in ours] == [r is not None for r in ref] == expected
    for a, r in zip(ours, ref, strict=True):
        if a is not None:
            torch.testing.assert_close(a, r, rtol=1e-5, atol=1e-4)


def test_which_products_take_onednn(onednn) -> None:
    w = torch.randn(128, 128, requires_grad=True)
    x = torch.randn(2, 128, 128)  # 256 rows x 128 x 128 = MIN_MULTIPLY_ADDS exactly
    assert lin.takes_onednn(x, w)
    assert not lin.takes_onednn(x[:, :-1], w)  # one row fewer: MKL is faster there
    assert not lin.takes_onednn(x, w.detach())  # nothing to train
    assert not lin.takes_onednn(x.double(), w.double())
    with torch.no_grad():  # inference: shapes change with every sentence
        assert not lin.takes_onednn(x, w)


def test_under_cpu_autocast_it_multiplies_as_f_linear_does(every_product) -> None:
    layer = lin.Linear(8, 16)
    x = torch.randn(100, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not lin.takes_onednn(x, layer.weight)
        assert layer(x).dtype == torch.bfloat16


def test_products_it_does_not_take_are_f_linears_bit_for_bit(every_product) -> None:
    layer = lin.Linear(8, 16)
    x = torch.randn(5, 8)
    with torch.no_grad():
        assert torch.equal(layer(x), F.linear(x, layer.weight, layer.bias))


def test_disabled_is_f_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lin, "ENABLED", False)
    monkeypatch.setattr(lin, "MIN_MULTIPLY_ADDS", 0)  # only the switch decides
    layer = lin.Linear(8, 16)
    x = torch.randn(100, 8)
    assert not lin.takes_onednn(x, layer.weight)
    assert torch.equal(layer(x), F.linear(x, layer.weight, layer.bias))


def _train(enabled: bool, monkeypatch: pytest.MonkeyPatch, steps: int = 8) -> list[float]:
    monkeypatch.setattr(lin, "ENABLED", enabled)
    monkeypatch.setattr(lin, "MIN_MULTIPLY_ADDS", 0)  # every product of this small GPT
    torch.manual_seed(0)
    cfg = GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=16, vocab_size=20)
    model = GPT(cfg)
    opt = AdamW(model.parameters(), lr=3e-3)
    data = torch.arange(400) % 20  # a cycle of 20 tokens: learnable in a few steps
    losses = []
    for i in range(steps):
        x = torch.stack([data[j : j + 16] for j in range(i, i + 8)])  # (8, 16): 128 rows
        y = torch.stack([data[j + 1 : j + 17] for j in range(i, i + 8)])
        assert lin.takes_onednn(model.wte(x), model.h[0].attn.c_attn.weight) == enabled
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_a_gpt_trains_the_same_with_and_without_onednn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tied head, biases and all: the two libraries' runs agree to float32 rounding."""
    with_onednn = _train(True, monkeypatch)
    without = _train(False, monkeypatch)
    assert with_onednn[-1] < with_onednn[0] - 0.5  # it learned
    assert with_onednn == pytest.approx(without, rel=1e-4)


@pytest.mark.parametrize("preset", [None, "5"])
def test_onednn_caches_are_capped_unless_the_environment_says_otherwise(preset) -> None:
    """Uncapped, a server's threads would keep compiled code for up to 1,024 shapes each."""
    env = {k: v for k, v in os.environ.items() if "CACHE_CAPACITY" not in k}
    if preset:
        env["LRU_CACHE_CAPACITY"] = preset
    code = (
        "import os, minigpt.linear; "
        "print(os.environ['LRU_CACHE_CAPACITY'], os.environ['ONEDNN_PRIMITIVE_CACHE_CAPACITY'])"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == [preset or lin.CACHE_CAPACITY, lin.CACHE_CAPACITY]

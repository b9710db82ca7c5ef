"""minigpt/training/adamw.py: torch's fused AdamW, bitwise, without torch.optim's compiler import.

The reference is `torch.optim.AdamW(..., fused=True)`, which nobody here wrote: the same
gradients must give the same weights and moments to the last bit, and the state dicts must load
into each other.
"""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from minigpt.config import GPTConfig
from minigpt.model import GPT
from minigpt.training.adamw import AdamW

CFG = GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=16, vocab_size=23)
BETAS = (0.9, 0.95)


def groups(model: GPT) -> list[dict]:
    """The trainer's two groups: matrices and embeddings decay, biases and gains do not."""
    params = list(model.parameters())
    return [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]


def pair() -> tuple[GPT, AdamW, GPT, torch.optim.AdamW]:
    """Our optimizer and torch's, each on its own copy of one small GPT."""
    torch.manual_seed(0)
    a = GPT(CFG)
    b = copy.deepcopy(a)
    ours = AdamW(groups(a), lr=1e-3, betas=BETAS)
    theirs = torch.optim.AdamW(groups(b), lr=1e-3, betas=BETAS, fused=True)
    return a, ours, b, theirs


def train(a: GPT, ours, b: GPT, theirs, steps: int, seed: int, lrs=(1e-3, 3e-3, 5e-4)) -> None:
    """`steps` updates of both from the same gradients (computed on a, copied to b); the learning
    rate changes between steps, as the trainers' schedule changes it."""
    gen = torch.Generator().manual_seed(seed)
    for k in range(steps):
        x = torch.randint(0, CFG.vocab_size, (4, CFG.block_size), generator=gen)
        y = torch.randint(0, CFG.vocab_size, (4, CFG.block_size), generator=gen)
        a(x, y)[1].backward()
        for p, q in zip(a.parameters(), b.parameters(), strict=True):
            q.grad = None if p.grad is None else p.grad.clone()
        for opt in (ours, theirs):
            for group in opt.param_groups:
                group["lr"] = lrs[k % len(lrs)]
            opt.step()
            opt.zero_grad(set_to_none=True)


def assert_same(a: GPT, ours, b: GPT, theirs) -> None:
    """Weights, moments and step counts equal to the bit (torch.equal: no tolerance)."""
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
        assert ours.state.get(p, {}).keys() == theirs.state.get(q, {}).keys()
        for key, value in ours.state.get(p, {}).items():
            assert value.dtype == theirs.state[q][key].dtype
            assert torch.equal(value, theirs.state[q][key]), key


def test_steps_equal_torchs_fused_adamw_bitwise():
    a, ours, b, theirs = pair()
    train(a, ours, b, theirs, steps=5, seed=1)
    assert_same(a, ours, b, theirs)
    torch.manual_seed(0)
    assert not torch.equal(a.wte.weight, GPT(CFG).wte.weight)  # it did train
    assert all(p.grad is None for p in a.parameters())  # zero_grad(set_to_none=True)
    step = ours.state[a.wte.weight]["step"]
    assert step.dtype == torch.float32 and step.dim() == 0 and step.item() == 5


def test_a_weight_without_gradient_is_left_alone_as_torch_leaves_it():
    a, ours, b, theirs = pair()
    a.wte.weight.requires_grad_(False)
    b.wte.weight.requires_grad_(False)
    train(a, ours, b, theirs, steps=2, seed=2)
    assert_same(a, ours, b, theirs)
    assert a.wte.weight not in ours.state and ours.state[a.h[0].ln_1.weight]["step"].item() == 2


def test_state_dict_is_torchs():
    a, ours, b, theirs = pair()
    train(a, ours, b, theirs, steps=2, seed=3)
    mine, ref = ours.state_dict(), theirs.state_dict()
    assert mine["param_groups"] == ref["param_groups"]  # every setting, and params as indices
    assert [list(g) for g in mine["param_groups"]] == [list(g) for g in ref["param_groups"]]
    assert mine["state"].keys() == ref["state"].keys()
    for i, entries in mine["state"].items():
        assert entries.keys() == ref["state"][i].keys()
        assert all(torch.equal(v, ref["state"][i][k]) for k, v in entries.items())


def test_zero_grad_can_zero_in_place():
    a, ours, *_ = pair()
    a(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 4, dtype=torch.long))[1].backward()
    ours.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in a.parameters())


@pytest.mark.parametrize("direction", ["torch into ours", "ours into torch"])
def test_state_dicts_load_into_each_other_and_training_continues_bitwise(direction):
    a, ours, b, theirs = pair()
    train(a, ours, b, theirs, steps=3, seed=4)
    # A new optimizer of the other kind on a copy of the weights, loaded from the saved state
    # (whose settings, lr 5e-4 from the last step, replace the constructor's). Saved as a
    # checkpoint would: torch's load keeps the very tensors it is given when no cast is needed.
    if direction == "torch into ours":
        c = copy.deepcopy(b)
        loaded = AdamW(groups(c), lr=0.5, betas=(0.5, 0.5))
        loaded.load_state_dict(copy.deepcopy(theirs.state_dict()))
        pairs = (c, loaded, b, theirs)
    else:
        c = copy.deepcopy(a)
        loaded = torch.optim.AdamW(groups(c), lr=0.5, betas=(0.5, 0.5), fused=True)
        loaded.load_state_dict(copy.deepcopy(ours.state_dict()))
        pairs = (a, ours, c, loaded)
    assert pairs[1].param_groups[0]["lr"] == 5e-4 and pairs[1].param_groups[0]["betas"] == BETAS
    train(*pairs, steps=3, seed=5)
    assert_same(*pairs)


def test_loading_copies_and_casts_as_the_kernel_needs():
    a, ours, b, theirs = pair()
    train(a, ours, b, theirs, steps=1, seed=6)
    saved = ours.state_dict()
    for entries in saved["state"].values():  # as a checkpoint of an old release might hold them
        entries["step"] = 1
        entries["exp_avg"] = entries["exp_avg"].double()
    fresh = AdamW(groups(a), betas=BETAS)
    fresh.load_state_dict(saved)
    state = fresh.state[a.wte.weight]
    assert state["step"].dtype == torch.float32 and state["step"].item() == 1
    assert state["exp_avg"].dtype == torch.float32
    assert state["exp_avg_sq"] is not ours.state[a.wte.weight]["exp_avg_sq"]  # a copy


def test_a_state_that_does_not_fit_is_refused_in_words_and_nothing_is_half_loaded():
    a, ours, b, theirs = pair()
    train(a, ours, b, theirs, steps=1, seed=7)
    one_group = {"state": {}, "param_groups": [{**ours.state_dict()["param_groups"][0]}]}
    with pytest.raises(ValueError, match="belongs to a different model"):
        ours.load_state_dict(one_group)
    saved = copy.deepcopy(ours.state_dict())
    saved["state"][0]["exp_avg"] = saved["state"][0]["exp_avg"][:1]
    with pytest.raises(ValueError, match="belongs to a different model"):
        ours.load_state_dict(saved)
    saved["state"][0] = {"step": 1}
    with pytest.raises(ValueError, match="not AdamW's"):
        ours.load_state_dict(saved)
    saved = copy.deepcopy(ours.state_dict())
    saved["param_groups"][0]["betas"] = (0.9, 1.5)
    with pytest.raises(ValueError, match="betas"):
        ours.load_state_dict(saved)
    with pytest.raises(ValueError, match="betas"):
        AdamW(a.parameters(), betas=(1.0, 0.9))
    assert_same(a, ours, b, theirs)  # nothing refused was half-loaded


def test_training_saving_and_loading_never_import_the_compiler():
    """torch.optim's Optimizer imports torch._dynamo on its first add_param_group (~70 MB);
    a Trainer stepped, saved, loaded back and stepped again must not."""
    code = (
        "import sys, torch\n"
        "from minigpt.config import GPTConfig\n"
        "from minigpt.model import GPT\n"
        "from minigpt.tokenizers.tokenizer import CharTokenizer\n"
        "from minigpt.training.checkpoint import load_checkpoint, save_checkpoint\n"
        "from minigpt.training.data import TokenData\n"
        "from minigpt.training.trainer import TrainConfig, Trainer\n"
        "text = 'Fair is foul, and foul is fair. ' * 40\n"
        "tok = CharTokenizer.train(text)\n"
        "cfg = GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, vocab_size=tok.vocab_size)\n"
        "train = TrainConfig(batch_size=2, max_iters=4, warmup_iters=1)\n"
        "t = Trainer(GPT(cfg), TokenData.from_text(text, tok, train.val_fraction), train)\n"
        "t.step()\n"
        "ckpt = load_checkpoint(save_checkpoint(None, t.model, tok, t))\n"
        "t.load_state_dict(ckpt.trainer_state)\n"
        "t.step()\n"
        "assert 'torch._dynamo' not in sys.modules, 'training imported the compiler'\n"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1]
    )

"""The schedule has its shape, training learns, blow-ups are refused, resuming changes nothing."""

import copy
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from minigpt.config import GPTConfig
from minigpt.model import GPT
from minigpt.training.data import TokenData
from minigpt.training.trainer import TrainConfig, Trainer, TrainingDiverged, lr_at

CFG = GPTConfig(n_layer=1, n_head=2, n_embd=32, block_size=16, vocab_size=20)
FAST = TrainConfig(batch_size=4, max_iters=40, warmup_iters=2, eval_iters=2, learning_rate=3e-3)


def make(cfg=CFG, train=FAST, ids=None, seed=0):
    torch.manual_seed(seed)
    if ids is None:
        ids = torch.randint(0, cfg.vocab_size, (600,), generator=torch.Generator().manual_seed(5))
    return Trainer(GPT(cfg), TokenData(ids, train.val_fraction), train)


def weights(model):
    return [p.detach().clone() for p in model.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_lr_warms_up_linearly_peaks_then_decays_to_min_lr():
    cfg = TrainConfig(learning_rate=1e-3, warmup_iters=10, max_iters=100)
    lrs = [lr_at(s, cfg) for s in range(cfg.max_iters)]
    rises = [b - a for a, b in itertools.pairwise(lrs[:11])]
    assert max(rises) - min(rises) < 1e-12 and min(rises) > 0  # a straight line up
    assert lrs[10] == pytest.approx(1e-3) == max(lrs)
    assert all(a >= b for a, b in itertools.pairwise(lrs[10:]))
    assert lrs[-1] == pytest.approx(1e-4)  # min_lr defaults to a tenth of the peak
    assert lrs[55] == pytest.approx((1e-3 + 1e-4) / 2, rel=0.02)  # cosine: halfway at the middle
    assert lr_at(500, cfg) == pytest.approx(1e-4)
    assert lr_at(99, cfg.replace(min_lr=0.0)) == pytest.approx(0.0)


def test_impossible_settings_are_named():
    assert TrainConfig().problems() == []
    bad = TrainConfig(learning_rate=0.0, batch_size=0, beta2=1.0, val_fraction=0.0)
    text = "; ".join(bad.problems())
    for word in ("learning_rate", "batch_size", "beta2", "val_fraction"):
        assert word in text
    assert "min_lr" in TrainConfig(learning_rate=1e-3, min_lr=1e-2).problems()[0]
    assert TrainConfig(learning_rate=math.nan).problems()
    with pytest.raises(ValueError, match="batch_size"):
        make(train=FAST.replace(batch_size=0))


def test_overfitting_one_batch_lowers_the_loss_a_lot():
    ids = torch.randint(0, 20, (40,), generator=torch.Generator().manual_seed(2))
    # 17 training tokens: every batch is the same window, so the model can memorise it.
    t = make(ids=ids, train=FAST.replace(val_fraction=0.5, learning_rate=1e-2))
    losses = [t.step().loss for _ in range(40)]
    assert losses[-1] < 0.25 * losses[0]


def test_same_seed_same_run_and_the_global_rng_is_left_alone():
    t1, t2 = make(), make()
    rng = torch.get_rng_state()
    losses = [t1.step().loss for _ in range(3)]
    assert torch.equal(rng, torch.get_rng_state())  # per-step seeding happens in a fork
    assert losses == [t2.step().loss for _ in range(3)]


def test_metrics_history_and_evaluation():
    t = make(train=FAST.replace(eval_interval=3, max_iters=4))
    ms = [t.step() for _ in range(4)]
    assert [m.step for m in ms] == [1, 2, 3, 4] and t.history == ms
    assert ms[-1].elapsed == pytest.approx(sum(m.dt for m in ms))
    assert all(m.tokens_per_s > 0 and m.grad_norm > 0 for m in ms)
    due = []
    for n in (1, 3, 4):
        t.steps_done = n
        due.append(t.eval_due)
    assert due == [False, True, True]  # every eval_interval steps, and after the last
    e = t.evaluate()
    assert t.model.training  # back in training mode
    assert e.val_ppl == pytest.approx(math.exp(e.val_loss))
    assert t.evaluate().val_loss == e.val_loss  # same batches each time
    assert t.evals == [e, e]


def test_exploding_learning_rate_raises_and_keeps_sane_weights():
    t = make(train=FAST.replace(learning_rate=1e4, warmup_iters=0, grad_clip=0.0))
    before = []
    with pytest.raises(TrainingDiverged, match="lower learning rate") as info:
        for _ in range(20):
            before.append(weights(t.model))
            t.step()
    after = weights(t.model)
    assert all(torch.isfinite(p).all() for p in after)
    assert same(after, before[-1]) or same(after, before[-2])
    assert t.steps_done == info.value.step - 1  # the failed step does not count


def test_nan_gradient_is_not_applied():
    t = make()
    t.step()
    before = weights(t.model)
    hook = t.model.wte.weight.register_hook(lambda g: g * math.nan)
    with pytest.raises(TrainingDiverged, match="gradient"):
        t.step()
    assert same(weights(t.model), before) and t.steps_done == 1
    hook.remove()
    t.step()  # and training can carry on
    assert all(torch.isfinite(p).all() for p in t.model.parameters())


@pytest.mark.parametrize("scale", [math.nan, 1e4])
def test_nan_or_absurd_loss_restores_the_last_sane_weights(scale):
    t = make()
    t.step()
    last_sane = weights(t.model)  # the weights whose loss the next step measures
    t.step()
    hook = t.model.lm_head.register_forward_hook(lambda m, i, out: out * scale)
    with pytest.raises(TrainingDiverged, match="loss became") as info:
        t.step()
    hook.remove()
    assert same(weights(t.model), last_sane)
    assert info.value.step == 3


def test_resume_from_state_dict_matches_an_uninterrupted_run():
    cfg = CFG.replace(dropout=0.1)  # dropout too: its masks must be reproduced
    a = make(cfg)
    for _ in range(3):
        a.step()
    saved = copy.deepcopy((a.model.state_dict(), a.state_dict()))
    expected = [a.step().loss for _ in range(3)]
    b = make(cfg, seed=99)  # different initial weights, overwritten below
    b.model.load_state_dict(saved[0])
    b.load_state_dict(saved[1])
    assert [b.step().loss for _ in range(3)] == expected
    assert [m.step for m in b.history] == [1, 2, 3, 4, 5, 6]


def test_cli_prints_json_lines_and_writes_a_loadable_checkpoint(tmp_path):
    from minigpt.training.checkpoint import load_checkpoint

    corpus = tmp_path / "tiny.txt"
    corpus.write_text("To be, or not to be, that is the question.\n" * 40)
    out = tmp_path / "run"
    args = ["--data", corpus, "--n_layer", "1", "--n_head", "2", "--n_embd", "32"]
    args += ["--block_size", "16", "--batch_size", "4", "--max_iters", "5", "--log_interval", "1"]
    args += ["--eval_iters", "2", "--out", out]
    run = subprocess.run(
        [sys.executable, "-m", "minigpt.train", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[1],  # where `python -m minigpt.train` finds the package
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["step"] for line in lines] == [1, 2, 3, 4, 5]
    assert "val_loss" in lines[-1] and lines[0]["train_loss"] > 0
    ckpt = load_checkpoint(out / "checkpoint.safetensors")
    assert ckpt.config.n_embd == 32 and ckpt.trainer_state["steps_done"] == 5
    assert len(json.loads((out / "metrics.json").read_text())["history"]) == 5

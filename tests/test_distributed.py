"""Data parallel: N processes under the real `torchrun` take exactly the steps one process takes
with the same accumulation; a blow-up seen by one process stops them all; the command the live
page shows parses back into the same run."""

import json
import os
import shlex
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from torch.distributed.run import get_args_parser

from minigpt.cli.train import MODEL_FLAGS, TRAIN_FLAGS, build_parser, main, torchrun_command
from minigpt.config import GPTConfig
from minigpt.model import GPT
from minigpt.sampling import generate
from minigpt.training.checkpoint import load_checkpoint
from minigpt.training.data import TokenData
from minigpt.training.distributed import DistContext, cleanup, init_distributed, leaving
from minigpt.training.trainer import TrainConfig, Trainer, TrainingDiverged

ROOT = Path(__file__).parents[1]  # where `-m minigpt.train` finds the package
CFG = GPTConfig(n_layer=1, n_head=2, n_embd=32, block_size=16, vocab_size=20)
TRAIN = TrainConfig(batch_size=4, gradient_accumulation_steps=2, max_iters=4, warmup_iters=1)
RUN = ["--n_layer", "1", "--n_head", "2", "--n_embd", "32", "--block_size", "16"]
RUN += ["--dropout", "0.1", "--batch_size", "4", "--gradient_accumulation_steps", "2"]
RUN += ["--max_iters", "4", "--eval_iters", "3", "--log_interval", "1", "--device", "cpu"]


def make(train=TRAIN, dist=None):
    torch.manual_seed(0)
    ids = torch.randint(0, CFG.vocab_size, (600,), generator=torch.Generator().manual_seed(5))
    return Trainer(GPT(CFG), TokenData(ids, train.val_fraction), train, dist)


def test_without_torchrun_there_is_one_process(monkeypatch):
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    ctx = init_distributed("cpu")
    assert ctx == DistContext() and ctx.is_main and not ctx.is_distributed
    t = torch.ones(3)
    assert ctx.sum(t) is t and t.tolist() == [1, 1, 1]


def test_accumulating_two_micro_batches_is_one_batch_of_both():
    two = make()
    one = make(TRAIN.replace(batch_size=8, gradient_accumulation_steps=1))
    for _ in range(3):
        a, b = two.step(), one.step()
        assert a.loss == pytest.approx(b.loss, abs=1e-5) and a.tokens_per_s > 0
        assert a.grad_norm == pytest.approx(b.grad_norm, rel=1e-4)
    for p, q in zip(two.model.parameters(), one.model.parameters(), strict=True):
        torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4)


def test_the_micro_batches_must_share_out_evenly():
    with pytest.raises(ValueError, match="multiple of the number of processes"):
        make(TRAIN.replace(gradient_accumulation_steps=3), DistContext(world_size=2))


def _parse(command: str):
    """(torchrun's arguments, minigpt.train's arguments) of a torchrun_command."""
    words = shlex.split(command.replace("\\\n", " "))
    m = words.index("-m")
    assert words[0] == "torchrun" and words[m + 1] == "minigpt.train"
    launch = get_args_parser().parse_args(words[1:])  # real torchrun flags, or SystemExit
    return launch, build_parser().parse_args(words[m + 2 :])


def _configs(args, vocab_size):
    picked = {n: getattr(args, n) for n in (*TRAIN_FLAGS, *MODEL_FLAGS)}
    picked = {n: v for n, v in picked.items() if v is not None}
    train = TrainConfig(**{n: picked[n] for n in TRAIN_FLAGS if n in picked})
    model = {n: picked[n] for n in MODEL_FLAGS if n in picked}
    return GPTConfig.preset(args.preset, **model, vocab_size=vocab_size), train


def test_torchrun_command_parses_back_into_the_same_run():
    cfg = GPTConfig.preset("lab-live", vocab_size=65, dropout=0.1, pos_emb="rope")
    train = TrainConfig(batch_size=32, max_iters=1500, learning_rate=4e-3, min_lr=1e-5, seed=7)
    launch, args = _parse(torchrun_command(cfg, train, "bpe", 512, nproc=8, data="my text.txt"))
    assert launch.standalone and launch.nproc_per_node == "8"
    model, got = _configs(args, vocab_size=65)
    assert model == cfg and (args.tokenizer, args.vocab_size) == ("bpe", 512)
    assert args.data == Path("my text.txt") and args.device == "auto"
    # The same global batch of 32 windows, shared out as 8 micro-batches of 4.
    assert (got.batch_size, got.gradient_accumulation_steps) == (4, 8)
    assert got == train.replace(batch_size=4, gradient_accumulation_steps=8)

    launch, args = _parse(torchrun_command(cfg, train, nproc=4, nnodes=2, rdzv_endpoint="a:1"))
    assert (launch.nnodes, launch.rdzv_backend, launch.rdzv_endpoint) == ("2", "c10d", "a:1")
    assert (args.batch_size, args.gradient_accumulation_steps) == (4, 8)
    _, args = _parse(torchrun_command(cfg, train, nproc=3))  # 3 does not divide 32
    assert (args.batch_size, args.gradient_accumulation_steps) == (32, 3)
    with pytest.raises(ValueError, match="bias"):
        torchrun_command(cfg.replace(bias=False), train)


@pytest.mark.slow
def test_two_processes_under_torchrun_match_one_process_accumulating(tmp_path, capsys):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("To be, or not to be, that is the question.\n" * 40)
    threads = torch.get_num_threads()
    try:  # the reference run in this process: one process, two micro-batches per step
        assert main([*RUN, "--data", str(corpus), "--out", str(tmp_path / "one")]) == 0
    finally:
        torch.set_num_threads(threads)
    capsys.readouterr()
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    args = [*RUN, "--data", str(corpus), "--out", str(tmp_path / "two")]
    run = subprocess.run(
        [*torchrun, "-m", "minigpt.train", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["step"] for line in lines] == [1, 2, 3, 4]  # rank 0 alone logs
    one, two = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("one", "two"))
    for a, b in zip(one["history"], two["history"], strict=True):
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-5)
        assert a["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-5)
    assert one["evals"][-1]["val_loss"] == pytest.approx(two["evals"][-1]["val_loss"], abs=1e-5)
    # The checkpoint is the one a single process writes: the lab opens it and samples from it.
    ckpt = load_checkpoint(tmp_path / "two" / "checkpoint.safetensors")
    ref = load_checkpoint(tmp_path / "one" / "checkpoint.safetensors")
    assert ckpt.trainer_state["steps_done"] == 4
    assert ckpt.train_config.gradient_accumulation_steps == 2
    for name, w in ckpt.model.state_dict().items():
        torch.testing.assert_close(w, ref.model.state_dict()[name], atol=1e-5, rtol=1e-4)
    prompt = torch.tensor([ckpt.tokenizer.encode("To be")])
    out = generate(ckpt.model, prompt, 10, generator=torch.Generator().manual_seed(0))
    assert len(ckpt.tokenizer.decode(out[0].tolist())) == 15


def _spawn_two(fn, tmp_path: Path, monkeypatch, join: bool):
    """Run fn(rank, port, str(tmp_path)) in two fresh processes that meet on a free port."""
    # Earlier AppTests in this process leave an app script registered as __main__, and spawned
    # processes would run it again on start-up (outside Streamlit, where it fails). They need
    # only this module, which they import by name to find the function they run.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return mp.spawn(fn, args=(port, str(tmp_path)), nprocs=2, join=join)


def _join_group(rank: int, port: int):
    """This spawned process's place among two, as torchrun would have set it."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2")
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    return init_distributed("cpu")


def _blow_up_on_one_process(rank: int, port: int, out: str) -> None:
    ctx = _join_group(rank, port)
    with leaving():
        t = make(dist=ctx)
        t.step()
        if rank == 1:  # only this process sees an absurd loss
            t.model.lm_head.register_forward_hook(lambda m, i, logits: logits * 1e4)
        try:
            t.step()
            stopped_at = None
        except TrainingDiverged as e:
            stopped_at = e.step
        total = sum(p.detach().double().sum().item() for p in t.model.parameters())
        result = {"stopped_at": stopped_at, "steps": t.steps_done, "weights": total}
        Path(out, f"{rank}.json").write_text(json.dumps(result))


@pytest.mark.slow
def test_a_blow_up_on_one_process_stops_every_process(tmp_path, monkeypatch):
    procs = _spawn_two(_blow_up_on_one_process, tmp_path, monkeypatch, join=False)
    deadline = time.monotonic() + 120
    while not procs.join(timeout=1):
        if time.monotonic() > deadline:  # a process left waiting for the other: the bug itself
            for p in procs.processes:
                p.kill()
            pytest.fail("a process hung after the other one stopped")
    results = [json.loads((tmp_path / f"{r}.json").read_text()) for r in (0, 1)]
    assert [r["stopped_at"] for r in results] == [2, 2]
    assert [r["steps"] for r in results] == [1, 1]
    assert results[0]["weights"] == results[1]["weights"]  # both back on the same sane weights


def _leave_together(rank: int, port: int, out: str) -> None:
    _join_group(rank, port)
    if rank == 1:
        time.sleep(1.5)  # still busy when the other one is done
    arrived = time.time()
    cleanup(together=True)
    Path(out, f"{rank}.json").write_text(json.dumps({"arrived": arrived, "left": time.time()}))


@pytest.mark.slow
def test_processes_that_finish_together_leave_the_group_together(tmp_path, monkeypatch):
    _spawn_two(_leave_together, tmp_path, monkeypatch, join=True)
    first, late = (json.loads((tmp_path / f"{r}.json").read_text()) for r in (0, 1))
    assert late["arrived"] - first["arrived"] > 1  # known by construction: one slept 1.5 s
    assert first["left"] >= late["arrived"]  # the first waited for the late one before leaving

"""The fine-tuning loop, the command, and a short fine-tune of the shipped model."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from minigpt.cli.finetune import main
from minigpt.config import GPTConfig
from minigpt.finetune.lora import LoRAConfig, load_adapters
from minigpt.finetune.score import greedy_answers
from minigpt.finetune.tasks import TaskSet, build_task
from minigpt.finetune.trainer import FinetuneConfig, FinetuneTrainer
from minigpt.model import GPT
from minigpt.tokenizers.tokenizer import CharTokenizer
from minigpt.training.checkpoint import load_checkpoint, save_checkpoint
from minigpt.training.corpus import shakespeare_text

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "assets" / "shakespeare" / "checkpoint.safetensors"
TOK = CharTokenizer.train(shakespeare_text())
STEPS = 80  # the slow test's fine-tune
FAST = FinetuneConfig(batch_size=4, max_iters=3, warmup_iters=1, eval_items=4)


def _tiny() -> GPT:
    torch.manual_seed(0)
    cfg = GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=128, vocab_size=TOK.vocab_size)
    return GPT(cfg).eval()


def _task() -> TaskSet:
    task = build_task("play")
    return TaskSet(task.name, task.train[:64], task.heldout[:8])


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_the_base_model_is_never_changed():
    base = _tiny()
    before = _weights(base)
    for method in ("lora", "full"):
        trainer = FinetuneTrainer(base, TOK, _task(), FAST.replace(method=method))
        for _ in range(3):
            trainer.step()
    for name, t in base.state_dict().items():
        assert torch.equal(t, before[name]), name


def test_lora_trains_only_adapters_and_full_trains_everything():
    base = _tiny()
    lora = FinetuneTrainer(base, TOK, _task(), FAST)
    full = FinetuneTrainer(base, TOK, _task(), FAST.replace(method="full"))
    assert full.trainable == full.total == base.num_params()
    assert 0 < lora.trainable < lora.total
    for trainer in (lora, full):
        while not trainer.done:
            m = trainer.step()
        assert m.step == 3 and m.loss > 0 and m.counted_tokens > 0
    merged = lora.merged_model().state_dict()
    changed = {k for k, t in base.state_dict().items() if not torch.equal(t, merged[k])}
    # Only the adapted Linear weights moved; embeddings, norms and biases are as they were.
    assert changed and all(k.endswith("weight") and ("attn" in k or "mlp" in k) for k in changed)
    full_changed = {
        k for k, t in base.state_dict().items() if not torch.equal(t, full.model.state_dict()[k])
    }
    assert "wte.weight" in full_changed


def test_the_merged_model_answers_as_the_adapted_one():
    trainer = FinetuneTrainer(_tiny(), TOK, _task(), FAST)
    for _ in range(3):
        trainer.step()
    x = torch.randint(0, TOK.vocab_size, (2, 20), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = trainer.model.eval()(x)[0]
        got = trainer.merged_model()(x)[0]
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_the_mask_off_counts_the_questions_tokens_too():
    on = FinetuneTrainer(_tiny(), TOK, _task(), FAST).step()
    off = FinetuneTrainer(_tiny(), TOK, _task(), FAST.replace(mask_instruction=False)).step()
    assert off.counted_tokens > 3 * on.counted_tokens  # same seed: the same items are drawn


def test_batched_answers_equal_one_at_a_time():
    model, items = _tiny(), _task().heldout[:5]
    together = greedy_answers(model, TOK, items, max_new_tokens=6, batch_size=5)
    alone = [greedy_answers(model, TOK, [i], max_new_tokens=6)[0] for i in items]
    assert together == alone and all(len(a) <= 6 for a in together)


def test_bad_settings_are_refused_in_words():
    with pytest.raises(ValueError, match="method must be"):
        FinetuneTrainer(_tiny(), TOK, _task(), FAST.replace(method="half"))
    with pytest.raises(ValueError, match="layers must be between"):
        FinetuneTrainer(_tiny(), TOK, _task(), FAST.replace(lora=LoRAConfig(layers=(3,))))


def test_the_command_writes_a_checkpoint_the_lab_loads(tmp_path, capsys):
    start = tmp_path / "base.safetensors"
    save_checkpoint(start, _tiny(), TOK)
    out = tmp_path / "out"
    args = ["--init_from", str(start), "--max_iters", "4", "--batch_size", "4", "--eval_items", "4"]
    assert main([*args, "--eval_interval", "2", "--out", str(out), "--keep_adapters"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["step"] == 0 and 0 <= lines[0]["majority_baseline"] <= 1
    assert [x["step"] for x in lines if "heldout_accuracy" in x] == [0, 2, 4]
    assert lines[-1]["done"] and lines[-1]["after"] == lines[-2]["heldout_accuracy"]
    ckpt = load_checkpoint(out / "checkpoint.safetensors")
    assert ckpt.extra["finetune"]["task"] == "play"
    # The adapters on the base model give what the merged checkpoint gives.
    adapted = load_checkpoint(start).model
    load_adapters(adapted, out / "adapters.safetensors")
    x = torch.randint(0, TOK.vocab_size, (1, 30), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(ckpt.model(x)[0], adapted(x)[0], rtol=1e-5, atol=1e-5)
    assert json.loads((out / "metrics.json").read_text())["history"][-1]["step"] == 4


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--method", "full", "--keep_adapters"], "full fine-tuning has no adapters"),
        (["--init_from", "nowhere.safetensors"], "cannot read checkpoint"),
        (["--plays", "Hamlet II"], "no play called"),
        (["--rank", "0"], "rank must be at least 1"),
    ],
)
def test_the_command_refuses_bad_input_in_words(flags, words, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(flags)
    assert exit_.value.code == 2 and words in capsys.readouterr().err


def test_python_m_minigpt_finetune_runs_the_command():
    done = subprocess.run(
        [sys.executable, "-m", "minigpt.finetune", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--task" in done.stdout and "--keep_adapters" in done.stdout


@pytest.mark.slow
def test_a_short_finetune_of_the_shipped_model_beats_both_baselines():
    """Seeded LoRA on "which play is this from": held-out exact match rises above always
    answering the commonest play and above the untuned model (which never answers a title)."""
    ckpt = load_checkpoint(SHIPPED)
    task = build_task("play")
    cfg = FinetuneConfig(max_iters=STEPS, eval_items=64)
    trainer = FinetuneTrainer(ckpt.model, ckpt.tokenizer, task, cfg)
    untuned = trainer.evaluate().accuracy
    while not trainer.done:
        trainer.step()
    tuned = trainer.evaluate().accuracy
    assert tuned > max(untuned, task.majority_baseline)


def test_training_state_is_twelve_bytes_per_trainable_weight():
    for method in ("lora", "full"):
        trainer = FinetuneTrainer(_tiny(), TOK, _task(), FAST.replace(method=method))
        trainer.step()  # Adam makes its moments at the first step
        # float32: one gradient and two moments per trainable weight
        assert trainer.training_state_mb() == pytest.approx(12 * trainer.trainable / 1e6)


def test_questions_too_long_for_the_context_are_left_out():
    full = build_task("play")
    task = TaskSet("play", full.train[:64], full.heldout[:64])
    short = GPT(_tiny().config.replace(block_size=72))
    trainer = FinetuneTrainer(short, TOK, task, FAST)
    assert 0 < len(trainer.examples) < len(task.train)
    assert all(len(e.x) <= 72 for e in trainer.examples) and trainer.heldout
    trainer.step()
    tiny = GPT(_tiny().config.replace(block_size=16))
    with pytest.raises(ValueError, match="context of 16 tokens"):
        FinetuneTrainer(tiny, TOK, _task(), FAST)


def test_merged_model_twice_and_training_goes_on():
    """A merged copy must leave the adapters of the model still training in place."""
    trainer = FinetuneTrainer(_tiny(), TOK, _task(), FAST)
    trainer.step()
    first, second = trainer.merged_model(), trainer.merged_model()
    trainer.step()  # the adapted layers still have their weight
    x = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        torch.testing.assert_close(first(x)[0], second(x)[0])

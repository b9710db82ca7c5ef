"""Run settings are checked in words before anything runs; a LiveRun trains in slices, logs
samples and head snapshots, survives a blow-up, and saves and resumes exactly."""

import dataclasses
import io
import math
import pickle

import pytest
import torch

from lab.engine.estimate import measure_costs
from lab.engine.liverun import LiveRun
from lab.engine.run_limits import MAX_CONTEXT
from lab.engine.runspec import LIVE_MODEL, LIVE_TRAIN, RunError, RunSpec, make_spec
from minigpt.config import PRESETS, GPTConfig
from minigpt.model import GPT
from minigpt.sampling import SamplingConfig
from minigpt.tokenizers.tokenizer import CharTokenizer, WordTokenizer
from minigpt.training.checkpoint import CheckpointError, save_checkpoint
from minigpt.training.trainer import TrainConfig

LINES = [
    "ROMEO:\nBut soft, what light through yonder window breaks?\n\n",
    "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\n\n",
    "MERCUTIO:\nA plague on both your houses!\n\n",
]
TEXT = "".join(LINES[i % 3] for i in range(60))  # ~3,000 characters
TINY = GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=16)
FAST = TrainConfig(batch_size=4, max_iters=10, warmup_iters=2, eval_interval=5, eval_iters=2)
SPEC = RunSpec(corpus_key="test", model=TINY, train=FAST)
QUIET = SamplingConfig(max_new_tokens=8)


def tiny_run(spec=SPEC, text=TEXT, **kw) -> LiveRun:
    return LiveRun(spec, text, **kw)


def weights(model):
    return [p.detach().clone() for p in model.parameters()]


# ---------------------------------------------------------------- settings, checked first


def test_default_settings_are_the_measured_preset_and_fine():
    assert RunSpec().model == LIVE_MODEL == PRESETS["lab-live"]
    assert RunSpec().train == LIVE_TRAIN
    assert RunSpec().problems(TEXT * 10) == []
    assert SPEC.problems(TEXT) == []


@pytest.mark.parametrize(
    ("model", "train", "tokenizer", "vocab", "text", "words"),
    [
        ({}, {}, "char", None, "", "empty"),
        ({}, {}, "char", None, "   \n\n  ", "only spaces"),
        ({"n_embd": 66, "n_head": 4}, {}, "char", None, TEXT, "divide evenly"),
        (
            {"block_size": 0},
            {},
            "char",
            None,
            TEXT,
            "Context length (block_size) must be at least 1",
        ),
        ({"block_size": 100_000}, {}, "char", None, TEXT, f"at most {MAX_CONTEXT}"),
        ({"block_size": 512}, {}, "char", None, TEXT, "too long for this corpus"),
        ({}, {"learning_rate": 0.0}, "char", None, TEXT, "Learning rate (learning_rate) must be"),
        ({}, {"learning_rate": 1000.0}, "char", None, TEXT, "far beyond"),
        ({}, {"learning_rate": math.nan}, "char", None, TEXT, "Learning rate"),
        ({}, {"max_iters": 0}, "char", None, TEXT, "Steps (max_iters) must be at least 1"),
        ({}, {"batch_size": 0}, "char", None, TEXT, "Batch size (batch_size)"),
        ({}, {"warmup_iters": -1}, "char", None, TEXT, "Warmup steps"),
        ({}, {}, "bpe", 100, TEXT, "between 256"),
        ({}, {}, "bpe", None, TEXT, "between 256"),
        ({}, {}, "word", 1, TEXT, "between 3"),
        ({}, {}, "morse", None, TEXT, "Tokenizer must be one of"),
        ({"n_layer": 48, "n_embd": 1024, "n_head": 16}, {}, "char", None, TEXT, "parameters"),
        ({"block_size": 1024}, {"batch_size": 512}, "char", None, TEXT * 20, "per step"),
        ({"dropout": 1.5}, {}, "char", None, TEXT, "Dropout (dropout)"),
    ],
)
def test_impossible_settings_are_named_before_anything_runs(
    model, train, tokenizer, vocab, text, words
):
    spec, problems = make_spec(
        {**TINY.to_dict(), **model}, {**FAST.to_dict(), **train}, tokenizer, vocab
    )
    if spec is not None:
        problems = spec.problems(text)
        with pytest.raises(RunError) as err:
            LiveRun(spec, text)
        assert err.value.problems == problems
    assert problems and any(words in p for p in problems), problems


def test_make_spec_reports_shape_and_training_problems_together():
    spec, problems = make_spec({"n_embd": 66, "n_head": 4}, {"max_iters": 0})
    assert spec is None
    assert len(problems) == 2 and "Steps (max_iters)" in problems[1]


def test_context_check_counts_tokens_not_characters():
    spec = RunSpec(tokenizer="word", vocab_size=50, model=TINY.replace(block_size=200), train=FAST)
    words = len(WordTokenizer.split(TEXT))
    assert words < 10 * 201  # too few words for a 200-token context in the 10% validation part
    assert any("too long" in p for p in spec.problems(TEXT))
    assert not any("too long" in p for p in RunSpec(model=TINY, train=FAST).problems(TEXT))


def test_spec_round_trips_through_a_dict():
    spec = RunSpec("x", "bpe", 300, TINY.replace(pos_emb="rope"), FAST.replace(seed=3))
    assert RunSpec.from_dict(spec.to_dict()) == spec
    assert hash(spec) == hash(RunSpec.from_dict(spec.to_dict()))  # keys caches


def test_the_step_cost_key_ignores_only_what_cannot_change_a_step():
    # The training page times a step once per key: changing Steps must not re-time it.
    base = RunSpec("x", "char", None, TINY, FAST)
    longer = RunSpec("x", "char", None, TINY, FAST.replace(max_iters=500, learning_rate=0.1))
    assert longer.step_cost_key() == base.step_cost_key()
    wider = RunSpec("x", "char", None, TINY.replace(n_embd=32), FAST)
    bigger_batch = RunSpec("x", "char", None, TINY, FAST.replace(batch_size=8))
    keys = {s.step_cost_key() for s in (base, wider, bigger_batch)}
    assert len(keys) == 3


# ---------------------------------------------------------------- training in slices


def test_a_run_trains_in_slices_and_keeps_everything_to_watch():
    run = tiny_run()
    assert run.steps_done == 0 and not run.done
    first = run.advance(0.0, QUIET)  # a zero budget still makes one step
    assert [m.step for m in first] == [1]
    assert run.samples[0][0] == 0 and run.snapshots[0].step == 0  # the untrained model
    while not run.done:
        run.advance(10.0, QUIET)
    assert run.steps_done == FAST.max_iters and run.failure is None
    assert run.advance(1.0) == []  # done: nothing more happens
    rows = run.metrics_rows()
    assert [r["step"] for r in rows] == list(range(1, 11))
    evaluated = [r["step"] for r in rows if r["val_loss"] is not None]
    assert evaluated == [5, 10]
    assert rows[-1]["val_ppl"] == pytest.approx(math.exp(rows[-1]["val_loss"]))
    assert run.samples[-1][0] == 10 and run.samples[-1][1].startswith("ROMEO:\n")
    snap = run.snapshots[-1]
    L, H, T = TINY.n_layer, TINY.n_head, len(run.probe_ids)
    assert snap.step == 10 and snap.view.maps.shape == (L, H, T, T)
    assert snap.view.previous_token.shape == snap.view.induction.shape == (L, H)
    assert run.eta_seconds() == 0.0 and run.tokens_per_second() > 0


def test_a_stop_between_steps_ends_the_slice_after_the_current_step():
    run = tiny_run()
    asked = []
    made = run.advance(60.0, QUIET, keep_going=lambda: asked.append(1) or len(asked) < 3)
    assert len(made) == 3 and len(asked) == 3  # asked before each further step


def test_samples_and_snapshots_come_every_few_steps():
    run = tiny_run(RunSpec(model=TINY, train=FAST.replace(max_iters=40)))
    assert run.sample_every == run.snapshot_every == 2
    while not run.done:
        run.advance(10.0, QUIET)
    assert [s for s, _ in run.samples] == list(range(0, 41, 2))
    assert [s.step for s in run.snapshots] == list(range(0, 41, 2))


def test_learning_lowers_the_loss():
    run = tiny_run(RunSpec(model=TINY, train=FAST.replace(max_iters=60, learning_rate=1e-2)))
    while not run.done:
        run.advance(10.0, QUIET)
    rows = run.metrics_rows()
    assert rows[-1]["val_loss"] < math.log(run.tokenizer.vocab_size) - 0.5


def test_the_sample_depends_on_the_weights_not_on_luck():
    run = tiny_run()
    a, b = run.sample(sampling=QUIET), run.sample(sampling=QUIET)
    assert a == b and a.startswith("ROMEO:\n")
    assert run.sample("Romeo¤ art", QUIET).startswith("Romeo art")  # unknown characters skipped


def test_a_diverging_run_stops_with_a_message_and_keeps_sane_weights():
    run = tiny_run(
        RunSpec(model=TINY, train=FAST.replace(learning_rate=10.0, max_iters=200, warmup_iters=0))
    )
    while not run.done:
        run.advance(10.0, QUIET)
    assert run.failure and "diverged" in run.failure and "learning rate" in run.failure
    assert run.steps_done < 200
    assert all(torch.isfinite(p).all() for p in run.model.parameters())
    assert run.sample(sampling=QUIET)  # the last good weights still work
    assert LiveRun.from_checkpoint(run.to_checkpoint_bytes(), TEXT).steps_done == run.steps_done


def test_estimating_costs_leaves_the_run_untouched():
    run = tiny_run()
    run.advance(0.0, QUIET)
    before, gen = weights(run.model), run.trainer.generator.get_state()
    snapshots, samples = list(run.snapshots), list(run.samples)
    costs = measure_costs(run, steps=2, min_seconds=0.0)
    assert all(0 <= c < 10 for c in dataclasses.astuple(costs)) and costs.step > 0
    assert run.snapshots == snapshots and run.samples == samples
    assert all(torch.equal(a, b) for a, b in zip(before, weights(run.model), strict=True))
    assert torch.equal(gen, run.trainer.generator.get_state()) and run.steps_done == 1


def test_a_frozen_copy_does_not_follow_further_training():
    run = tiny_run()
    run.advance(0.0, QUIET)
    frozen = run.frozen_model()
    kept = weights(frozen)
    run.advance(10.0, QUIET)
    assert all(torch.equal(a, b) for a, b in zip(kept, weights(frozen), strict=True))
    assert not frozen.training and not any(p.requires_grad for p in frozen.parameters())


@pytest.mark.parametrize(("kind", "vocab"), [("bpe", 260), ("word", 40)])
def test_other_tokenizers_train_too(kind, vocab):
    run = tiny_run(RunSpec(tokenizer=kind, vocab_size=vocab, model=TINY, train=FAST))
    assert run.tokenizer.kind == kind and run.spec.model.vocab_size == run.tokenizer.vocab_size
    run.advance(0.0, QUIET)
    assert run.steps_done == 1 and run.samples


# ---------------------------------------------------------------- checkpoints


def test_saving_and_resuming_changes_nothing():
    straight = tiny_run()
    while not straight.done:
        straight.advance(10.0, QUIET)
    first = tiny_run()
    while first.steps_done < 4:
        first.advance(0.0, QUIET)
    resumed = LiveRun.from_checkpoint(first.to_checkpoint_bytes(), TEXT, corpus_key="test")
    assert resumed.steps_done == 4 and resumed.samples == first.samples
    assert resumed.spec == first.spec
    while not resumed.done:
        resumed.advance(10.0, QUIET)
    a, b = straight.metrics_rows(), resumed.metrics_rows()
    assert [r["train_loss"] for r in a] == pytest.approx([r["train_loss"] for r in b], abs=1e-5)


def test_a_finished_run_can_be_lengthened():
    run = tiny_run()
    while not run.done:
        run.advance(10.0, QUIET)
    data = run.to_checkpoint_bytes()
    longer = LiveRun.from_checkpoint(data, TEXT, max_iters=14)
    longer.advance(10.0, QUIET)
    assert longer.steps_done == 14
    with pytest.raises(RunError, match="more than the 10"):
        LiveRun.from_checkpoint(data, TEXT, max_iters=5)


def _pickled() -> bytes:
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda good: good[: len(good) // 2], "truncated"),
        (lambda good: good[:5], "too short"),
        (lambda good: _pickled(), "pickle"),
        (lambda good: pickle.dumps({"w": 1}), "pickle"),
        (lambda good: b"hello world, not a checkpoint", "not a safetensors"),
    ],
)
def test_bad_checkpoint_uploads_are_refused_in_words(make, words):
    good = tiny_run().to_checkpoint_bytes()
    with pytest.raises(CheckpointError, match=words):
        LiveRun.from_checkpoint(make(good), TEXT)


def test_a_checkpoint_whose_tokenizer_cannot_read_the_corpus_is_refused():
    other = "".join(chr(0x3B1 + i % 20) for i in range(3000))  # Greek letters only
    with pytest.raises(RunError, match="cannot read this corpus"):
        LiveRun.from_checkpoint(tiny_run().to_checkpoint_bytes(), other)


def test_weights_only_checkpoints_continue_with_a_fresh_optimizer():
    tok = CharTokenizer.train(TEXT)
    model = GPT(TINY.replace(vocab_size=tok.vocab_size))
    run = LiveRun.from_checkpoint(save_checkpoint(None, model, tok), TEXT)
    assert run.steps_done == 0 and run.spec.train == LIVE_TRAIN.replace()
    run.advance(0.0, QUIET)
    assert run.steps_done == 1

"""The Fine-tune page's machinery without Streamlit: the request's checks, which models can be
fine-tuned, the parameter count, the run in slices with its baselines, and the mask drawing."""

import copy
import re
from types import SimpleNamespace

import pytest
import torch

from lab.charts import finetune as ft_charts
from lab.engine.finetune_run import FinetuneRun, phase, status_line
from lab.engine.finetune_spec import FinetuneSpec, parameter_share, readable_problem
from minigpt.config import GPTConfig
from minigpt.finetune.data import build_example, mask_view
from minigpt.finetune.lora import LoRAConfig, add_lora, trainable_params
from minigpt.finetune.tasks import TaskSet, build_task, exact_match
from minigpt.model import GPT
from minigpt.tokenizers.tokenizer import CharTokenizer, WordTokenizer
from minigpt.training.corpus import shakespeare_text

TOK = CharTokenizer.train(shakespeare_text())
TINY = FinetuneSpec(max_iters=4, eval_items=4, learning_rate=2e-3)


def _tiny(frozen: bool = True) -> GPT:
    torch.manual_seed(0)
    cfg = GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=128, vocab_size=TOK.vocab_size)
    return GPT(cfg).eval().requires_grad_(not frozen)  # the lab's shared models are frozen


def _task() -> TaskSet:
    task = build_task("play")
    return TaskSet(task.name, task.train[:64], task.heldout[:8])


def _finish(run: FinetuneRun) -> FinetuneRun:
    while not run.done:
        run.advance(0.0)  # one step per call
    return run


# ---------------------------------------------------------------- the request


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"rank": 0}, "LoRA rank must be between 1 and 64"),
        ({"max_iters": 0}, "Steps must be between 1"),
        ({"max_iters": 10**6}, "Steps must be between 1 and 2,000"),
        ({"eval_items": 0}, "Held-out questions must be between 1"),
        ({"learning_rate": 0.0}, "Learning rate must be above 0"),
        ({"learning_rate": 50.0}, "at most 0.1"),
        ({"method": "qlora"}, "Method must be LoRA or full"),
        ({"task": "poetry"}, "Task must be one of"),
        ({"batch_size": 0}, "Batch size must be between 1"),
    ],
)
def test_impossible_requests_are_refused_in_words(changes, words):
    problems = FinetuneSpec(**changes).problems(_tiny())
    assert problems and any(words in p for p in problems), problems


def test_the_default_request_and_full_with_any_rank_are_fine():
    assert FinetuneSpec().problems(_tiny()) == []
    assert FinetuneSpec(method="full", rank=0).problems(_tiny()) == []  # rank is LoRA's only


def test_the_servers_budget_is_asked():
    shipped = GPTConfig(n_layer=4, n_head=4, n_embd=128, block_size=128, vocab_size=75)
    assert FinetuneSpec().budget_problems(shipped) == []  # the default batch fits
    (memory,) = FinetuneSpec(batch_size=32).budget_problems(shipped)
    assert "more than the" in memory and "Lower Batch size (batch_size) to at most" in memory
    wide = GPTConfig(n_layer=12, n_head=8, n_embd=512, block_size=1024, vocab_size=75)
    assert any("One training step" in p for p in FinetuneSpec().budget_problems(wide))


def test_only_character_models_that_know_the_questions_qualify():
    task = _task()
    assert readable_problem(TOK, task) is None
    short = CharTokenizer.train("abcdefghijklmnopqrstuvwxyz :\n")
    assert "never saw" in readable_problem(short, task)
    words = WordTokenizer.train(shakespeare_text()[:20_000], 200)
    assert "reads word tokens" in readable_problem(words, task)


@pytest.mark.parametrize("method", ["lora", "full"])
def test_the_parameter_count_is_the_trainers(method):
    base = _tiny()
    spec = FinetuneSpec(method=method, rank=4)
    run = FinetuneRun(base, TOK, _task(), spec)
    assert parameter_share(base, spec) == (run.trainer.trainable, run.trainer.total)
    if method == "lora":
        adapted = copy.deepcopy(base)
        add_lora(adapted, LoRAConfig(rank=4, alpha=8.0))
        assert parameter_share(base, spec) == trainable_params(adapted)
    else:
        assert parameter_share(base, spec) == (base.num_params(), base.num_params())


# ---------------------------------------------------------------- the run


def test_a_slice_ends_when_keep_going_says_so_between_steps():
    run = FinetuneRun(_tiny(), TOK, _task(), TINY)
    asked: list[int] = []
    run.advance(60.0, keep_going=lambda: asked.append(1) or len(asked) < 2)
    assert run.steps_done == 2 and len(asked) == 2  # asked after each step, not before the first


def test_a_run_measures_the_untuned_model_first_on_the_same_questions():
    base = _tiny()
    before = {k: v.clone() for k, v in base.state_dict().items()}
    run = FinetuneRun(base, TOK, _task(), TINY)
    run.advance(0.0)
    assert run.evals[0].step == 0 and run.steps_done == 1  # untuned, then one step
    _finish(run)
    assert [e.step for e in run.evals] == [0, 1, 2, 3, 4]  # every step when steps < 10
    assert all(e.asked == 4 for e in run.evals) and len(run.heldout) == 4
    assert run.majority == exact_match([_task().majority_answer] * 4, run.heldout)
    assert len(run.before) == len(run.after) == 4
    assert [s for s, _ in run.losses] == [1, 2, 3, 4]
    assert [s for s, _ in run.answer_losses] == [0, 1, 2, 3, 4]
    v = run.view()
    assert v.steps == 4 and v.asked == 4 and v.untuned == run.evals[0].accuracy
    assert v.evals == [(e.step, e.accuracy) for e in run.evals[1:]]  # after step 0 only
    assert v.losses == run.losses and v.losses is not run.losses  # a copy
    s = run.summary("Run 1")
    assert s.steps == 4 and s.asked == 4 and s.untuned == run.evals[0].accuracy
    assert s.accuracy == run.evals[-1].accuracy and s.trainable < s.total
    assert s.training_mb > 0 and s.seconds_per_step > 0
    for k, v in base.state_dict().items():  # the shared base is never touched
        assert torch.equal(v, before[k]), k


def test_the_merged_model_answers_as_the_run_and_training_goes_on():
    run = FinetuneRun(_tiny(), TOK, _task(), FinetuneSpec(max_iters=6, eval_items=2))
    for _ in range(3):
        run.advance(0.0)
    merged = run.merged_model()
    assert not any(p.requires_grad for p in merged.parameters())
    x = torch.randint(0, TOK.vocab_size, (2, 20), generator=torch.Generator().manual_seed(0))
    run.trainer.model.eval()
    with torch.no_grad():
        torch.testing.assert_close(merged(x)[0], run.trainer.model(x)[0])
    run.merged_model()  # twice, and the run still trains: the adapters are still in place
    _finish(run)
    assert run.steps_done == 6 and run.failure is None


def test_full_fine_tuning_trains_a_frozen_base():
    spec = FinetuneSpec(method="full", max_iters=2, eval_items=2)
    run = _finish(FinetuneRun(_tiny(frozen=True), TOK, _task(), spec))
    assert run.trainer.trainable == run.trainer.total and run.failure is None


def test_evaluations_follow_the_schedule_on_longer_runs():
    run = FinetuneRun(_tiny(), TOK, _task(), FinetuneSpec(max_iters=25, eval_items=2))
    assert sorted(run.eval_steps) == [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 25]


def test_the_mask_off_counts_the_questions_tokens_too():
    on = _finish(FinetuneRun(_tiny(), TOK, _task(), TINY))
    off = _finish(
        FinetuneRun(
            _tiny(), TOK, _task(), FinetuneSpec(max_iters=4, eval_items=4, mask_instruction=False)
        )
    )
    # The same seeded batches: with the mask off every token after the first counts.
    assert all(a < b for a, b in zip(on.counted, off.counted, strict=True))


def test_a_diverging_run_stops_with_a_sentence():
    spec = FinetuneSpec(method="full", max_iters=50, eval_items=2, learning_rate=0.1)
    run = FinetuneRun(_tiny(), TOK, _task(), spec)
    run.trainer.loss_limit = -1.0  # any loss counts as diverged: a known answer, no waiting
    run.advance(1.0)
    assert run.done and "diverged" in run.failure and run.steps_done == 0


# ---------------------------------------------------------------- the mask drawing


@pytest.mark.parametrize("mask_on", [True, False])
def test_the_mask_drawing_reads_back_as_mask_view(mask_on):
    item = _task().train[0]
    example = build_example(TOK, item.instruction, item.input, item.answer, 128)
    view = mask_view(example, TOK, mask_on)
    drawn = [c == "1" for c in re.findall(r'data-counts="([01])"', ft_charts.mask_html(view))]
    assert drawn == [c for _, c in view]
    assert sum(drawn) == (len(item.answer) + 1 if mask_on else len(view) - 1)


def test_a_token_with_markup_is_drawn_as_text():
    html = ft_charts.mask_html([("<b>", True), ("\n", False)])
    assert "&lt;b&gt;" in html and "<b>" not in html.replace("&lt;b&gt;", "")


@pytest.mark.parametrize(
    ("trainer", "run", "expected", "line"),
    [
        (dict(error="boom"), dict(failure="x", done=True), "error", "fine-tuning: boom"),
        (dict(), dict(failure="nan loss"), "diverged", "stopped early at step 7: it diverged"),
        (dict(running=True, waiting=2), dict(), "queued", "queued behind 2 other session(s)"),
        (dict(running=True), dict(), "training", "fine-tuning: step 7 of 1,000"),
        (dict(), dict(done=True), "finished", "fine-tuning: finished, 1,000 steps"),
        (dict(), dict(), "stopped", "fine-tuning: stopped at step 7 of 1,000"),
    ],
)
def test_a_fine_tunes_phase_and_its_sidebar_line(trainer, run, expected, line):
    bg = SimpleNamespace(**{"error": None, "running": False, "waiting": 0, **trainer})
    work = SimpleNamespace(
        **{"failure": None, "done": False, "steps_done": 7, **run},
        spec=SimpleNamespace(max_iters=1000),
    )
    assert phase(work, bg) == expected
    assert line in status_line(work, bg)

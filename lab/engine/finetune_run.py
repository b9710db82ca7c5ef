"""A fine-tune advanced in time-boxed slices, for a background thread (no Streamlit here).

`FinetuneRun` is the BackgroundTrainer's work (lab/engine/background.py): `advance(seconds)`
steps the core's FinetuneTrainer, asks the held-out questions on a schedule, and records what
the page draws. Its first evaluation, before any step, is the untuned model's, on the same
held-out questions as every later one, so the two accuracies compare like with like.

Whatever the switch for the mask says about training, every evaluation also measures the loss
on the held-out answers' tokens only: that one number means the same with the mask on or off.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from lab.engine.background import BackgroundTrainer
from lab.engine.finetune_spec import FinetuneSpec
from minigpt.finetune.data import build_example, collate, masked_loss
from minigpt.finetune.tasks import TaskSet, exact_match
from minigpt.finetune.trainer import FinetuneEval, FinetuneTrainer
from minigpt.tokenizers.tokenizer import Tokenizer
from minigpt.training.trainer import TrainingDiverged

EVALUATIONS = 10  # held-out evaluations per run, besides the untuned model's


@dataclass(frozen=True)
class Summary:
    """One run's result as the comparison table shows it."""

    name: str
    task: str
    method: str  # "LoRA r8", "Full"
    mask_instruction: bool
    steps: int
    accuracy: float | None  # exact match on the first `asked` held-out questions, at the end
    untuned: float | None  # the same questions, before fine-tuning
    majority: float  # the same questions, always answering the commonest training answer
    asked: int
    seconds_per_step: float | None
    training_mb: float  # gradients and Adam's moments (FinetuneTrainer.training_state_mb)
    trainable: int
    total: int


@dataclass(frozen=True)
class RunView:
    """Copies of what a run has recorded, taken at one moment, for a page to draw at leisure."""

    steps: int
    max_iters: int
    mask_instruction: bool
    losses: list[tuple[int, float]]  # (step, training loss on the counted tokens)
    answer_losses: list[tuple[int, float]]  # (step, held-out answer-token loss)
    evals: list[tuple[int, float]]  # (step, held-out exact match) after step 0
    accuracy: float | None
    untuned: float | None
    majority: float
    asked: int
    before: list[str] | None
    after: list[str] | None
    after_step: int  # the step the `after` answers were given at
    seconds_per_step: float | None
    training_mb: float


class FinetuneRun:
    """One fine-tune of a base model on a task; the base model is never changed."""

    def __init__(
        self, base: nn.Module, tokenizer: Tokenizer, task: TaskSet, spec: FinetuneSpec
    ) -> None:
        # The trainer copies its base; the lab's shared models are frozen (requires_grad off),
        # and full fine-tuning trains whatever requires gradients, so hand it a thawed copy.
        thawed = copy.deepcopy(base).requires_grad_(True)
        self.trainer = FinetuneTrainer(thawed, tokenizer, task, spec.config())  # ValueError
        self.spec, self.task, self.tokenizer = spec, task, tokenizer
        self.heldout = self.trainer.heldout  # the questions every evaluation asks
        block = base.config.block_size
        held = [
            build_example(tokenizer, i.instruction, i.input, i.answer, block) for i in self.heldout
        ]
        self._held_batch = collate(held)
        self.majority = exact_match([task.majority_answer] * len(self.heldout), self.heldout)
        every = max(1, spec.max_iters // EVALUATIONS)
        self.eval_steps = set(range(every, spec.max_iters, every)) | {spec.max_iters}
        self.losses: list[tuple[int, float]] = []  # (step, training loss on the counted tokens)
        self.counted: list[int] = []  # tokens the loss counted at each step
        self.evals: list[FinetuneEval] = []
        self.answer_losses: list[tuple[int, float]] = []  # (step, held-out answer-token loss)
        self.before: list[str] | None = None  # the untuned model's answers to self.heldout
        self.after: list[str] | None = None  # the latest evaluation's answers
        self.failure: str | None = None
        self.seconds = 0.0  # wall time in advance(), evaluations included

    @property
    def done(self) -> bool:
        return self.trainer.done or self.failure is not None

    @property
    def steps_done(self) -> int:
        return self.trainer.steps_done

    def advance(self, seconds: float, keep_going: Callable[[], bool] | None = None) -> None:
        """Train for about `seconds` (at least one step), evaluating when the schedule says;
        `keep_going`, asked between steps, can end the slice sooner."""
        start = time.perf_counter()
        try:
            if not self.evals:
                self._evaluate()  # the untuned model, before anything moves
            while not self.done:
                m = self.trainer.step()
                self.losses.append((m.step, m.loss))
                self.counted.append(m.counted_tokens)
                if m.step in self.eval_steps:
                    self._evaluate()
                if time.perf_counter() - start >= seconds:
                    break
                if keep_going is not None and not keep_going():
                    break
        except TrainingDiverged as e:
            self.failure = str(e)
        finally:
            self.seconds += time.perf_counter() - start

    @torch.no_grad()
    def _evaluate(self) -> None:
        trainer = self.trainer
        answers = trainer.answers()
        accuracy = exact_match(answers, self.heldout)
        step = trainer.steps_done
        self.evals.append(
            FinetuneEval(step, accuracy, round(accuracy * len(answers)), len(answers))
        )
        if self.before is None:
            self.before = answers
        self.after = answers
        b = self._held_batch
        model = trainer.model
        was_training = model.training
        model.eval()
        logits, _ = model(b.x)  # (B, T, V)
        model.train(was_training)
        self.answer_losses.append((step, masked_loss(logits, b.y, b.mask).item()))

    @property
    def untuned(self) -> float | None:
        return self.evals[0].accuracy if self.evals else None

    @property
    def accuracy(self) -> float | None:
        """The latest held-out accuracy after at least one step (None before)."""
        tuned = [e for e in self.evals if e.step > 0]
        return tuned[-1].accuracy if tuned else None

    def seconds_per_step(self) -> float | None:
        t = self.trainer
        return t.elapsed / t.steps_done if t.steps_done else None

    def view(self) -> RunView:
        """What the page draws; take it under the trainer's lock (between two slices)."""
        return RunView(
            steps=self.steps_done,
            max_iters=self.spec.max_iters,
            mask_instruction=self.spec.mask_instruction,
            losses=list(self.losses),
            answer_losses=list(self.answer_losses),
            evals=[(e.step, e.accuracy) for e in self.evals if e.step > 0],
            accuracy=self.accuracy,
            untuned=self.untuned,
            majority=self.majority,
            asked=len(self.heldout),
            before=self.before,
            after=self.after,
            after_step=self.evals[-1].step if self.evals else 0,
            seconds_per_step=self.seconds_per_step(),
            training_mb=self.trainer.training_state_mb(),
        )

    def summary(self, name: str) -> Summary:
        t = self.trainer
        return Summary(
            name=name,
            task=self.spec.task,
            method=self.spec.label(),
            mask_instruction=self.spec.mask_instruction,
            steps=t.steps_done,
            accuracy=self.accuracy,
            untuned=self.untuned,
            majority=self.majority,
            asked=len(self.heldout),
            seconds_per_step=self.seconds_per_step(),
            training_mb=t.training_state_mb(),
            trainable=t.trainable,
            total=t.total,
        )

    @torch.no_grad()
    def merged_model(self) -> nn.Module:
        """A frozen, plain copy of the model now (adapters folded in), for other pages.

        The trainer builds it afresh from the weights as the model computes them, so the run
        keeps its adapters and trains on.
        """
        return self.trainer.merged_model().requires_grad_(False)


def phase(run: FinetuneRun, trainer: BackgroundTrainer) -> str:
    """Where a fine-tune is, first match wins: "error" (its thread raised), "diverged",
    "queued" (waiting for a trainer slot), "training", "finished" or "stopped". The Fine-tune
    page and the sidebar word each phase their own way from this one answer."""
    if trainer.error:
        return "error"
    if run.failure:
        return "diverged"
    if trainer.running:
        return "queued" if trainer.waiting else "training"
    return "finished" if run.done else "stopped"


def status_line(run: FinetuneRun, trainer: BackgroundTrainer) -> str:
    """The sidebar's line on a session's fine-tune, worded as a training run's line
    (SessionTrainer.status), so a student on another page sees how far it is."""
    done, total = run.steps_done, run.spec.max_iters
    return {
        "error": f"fine-tuning: {trainer.error}",
        "diverged": f"fine-tuning stopped early at step {done:,}: it diverged",
        "queued": f"fine-tuning: queued behind {trainer.waiting} other session(s)",
        "training": f"fine-tuning: step {done:,} of {total:,}",
        "finished": f"fine-tuning: finished, {total:,} steps",
        "stopped": f"fine-tuning: stopped at step {done:,} of {total:,}",
    }[phase(run, trainer)]

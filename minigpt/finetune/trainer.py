"""Fine-tuning, pull-based like training: `FinetuneTrainer.step()` does one update and returns
what happened; `evaluate()` asks the held-out questions. The caller decides when to do either.

Full fine-tuning and LoRA run the same loop; they differ only in which weights require
gradients. The trainer works on its own copy of the model, so a shared base model (the lab
caches one per server) is never changed.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from dataclasses import dataclass
from operator import attrgetter

import torch
from torch import nn

from minigpt import rng
from minigpt.finetune.data import (
    Example,
    ExampleTooLongError,
    build_example,
    collate,
    masked_loss,
)
from minigpt.finetune.lora import LoRAConfig, add_lora, trainable_params
from minigpt.finetune.score import greedy_answers
from minigpt.finetune.tasks import Item, TaskSet, exact_match
from minigpt.model import GPT
from minigpt.tokenizers.tokenizer import Tokenizer
from minigpt.training.adamw import AdamW
from minigpt.training.trainer import TrainConfig, TrainingDiverged, divergence_limit, lr_at

METHODS = ("full", "lora")


@dataclass(frozen=True)
class FinetuneConfig:
    """How to fine-tune. Defaults: LoRA rank 8 on every block, the response-only loss."""

    method: str = "lora"  # "full" | "lora"
    lora: LoRAConfig = dataclasses.field(default_factory=LoRAConfig)
    mask_instruction: bool = True  # False: the loss counts the question's tokens too
    batch_size: int = 16
    max_iters: int = 150
    learning_rate: float = 2e-3  # LoRA's usual; full fine-tuning wants about a tenth of it
    warmup_iters: int = 10
    weight_decay: float = 0.0  # decay pulls towards zero, not towards the pretrained weights
    grad_clip: float = 1.0
    eval_items: int = 64  # held-out questions asked at each evaluation (the first ones)
    seed: int = 1337

    def schedule(self) -> TrainConfig:
        """The same warmup-then-cosine learning rate as pretraining (see trainer.lr_at)."""
        return TrainConfig(
            batch_size=self.batch_size,
            max_iters=self.max_iters,
            learning_rate=self.learning_rate,
            warmup_iters=self.warmup_iters,
            weight_decay=self.weight_decay,
            grad_clip=self.grad_clip,
            seed=self.seed,
        )

    def problems(self, n_layer: int) -> list[str]:
        """Every reason these settings cannot fine-tune a model of n_layer blocks."""
        out = [] if self.method in METHODS else [f"method must be full or lora ({self.method!r})"]
        if self.method == "lora":
            out += self.lora.problems(n_layer)
        if self.eval_items < 1:
            out.append(f"eval_items must be at least 1 (got {self.eval_items})")
        return out + self.schedule().problems()

    def replace(self, **changes) -> FinetuneConfig:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class FinetuneStep:
    step: int  # updates done, this one included
    loss: float  # on this step's batch, over the tokens the loss counts, before the update
    lr: float
    grad_norm: float  # before clipping
    counted_tokens: int  # targets the loss counted in this batch
    dt: float  # seconds this step took
    elapsed: float  # seconds spent in step() so far


@dataclass(frozen=True)
class FinetuneEval:
    step: int
    accuracy: float  # held-out exact match, 0..1
    correct: int
    asked: int


class FinetuneTrainer:
    """AdamW on a copy of `base`, over a task's training items, one `step()` at a time."""

    def __init__(
        self, base: nn.Module, tokenizer: Tokenizer, task: TaskSet, cfg: FinetuneConfig
    ) -> None:
        if problems := cfg.problems(base.config.n_layer):
            raise ValueError("; ".join(problems))
        self.config, self.tokenizer, self.task = cfg, tokenizer, task
        self.model = copy.deepcopy(base).train()
        self.adapted = add_lora(self.model, cfg.lora) if cfg.method == "lora" else []
        block = base.config.block_size
        # Items too long for this model's context are left out (a model trained with a short
        # context can still learn the shorter questions).
        self.examples = [e for i in task.train if (e := _example(tokenizer, i, block))]
        fitting = (i for i in task.heldout if _example(tokenizer, i, block))
        self.heldout: tuple[Item, ...] = tuple(fitting)[: cfg.eval_items]
        if not self.examples or not self.heldout:
            raise ValueError(
                f"no question of the task {task.name!r} fits with its answer in this model's "
                f"context of {block} tokens: pick a model with a longer context"
            )
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.trainable, self.total = trainable_params(self.model)
        self.optimizer = AdamW(
            self.params, lr=cfg.learning_rate, betas=(0.9, 0.99), weight_decay=cfg.weight_decay
        )
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.steps_done = 0
        self.elapsed = 0.0
        self.history: list[FinetuneStep] = []
        self.evals: list[FinetuneEval] = []
        self.loss_limit = divergence_limit(base.config.vocab_size)

    @property
    def done(self) -> bool:
        return self.steps_done >= self.config.max_iters

    def step(self) -> FinetuneStep:
        """One update on batch_size training items drawn at random (seeded)."""
        cfg, t0 = self.config, time.perf_counter()
        lr = lr_at(self.steps_done, cfg.schedule())
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        picks = torch.randint(len(self.examples), (cfg.batch_size,), generator=self.generator)
        batch = collate([self.examples[i] for i in picks.tolist()])
        weights = batch.loss_weights(cfg.mask_instruction)
        self.model.train()
        logits, _ = self.model(batch.x)  # (B, T, V)
        loss = masked_loss(logits, batch.y, weights)
        loss_value = loss.item()
        if not math.isfinite(loss_value) or loss_value > self.loss_limit:
            self.optimizer.zero_grad(set_to_none=True)
            raise TrainingDiverged(
                f"fine-tuning diverged at step {self.steps_done + 1}: the loss became "
                f"{loss_value:.4g}. The update was not applied; try a third of the learning "
                f"rate ({lr:.2g}).",
                step=self.steps_done + 1,
                loss=loss_value,
            )
        loss.backward()
        max_norm = cfg.grad_clip if cfg.grad_clip > 0 else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, max_norm).item()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.steps_done += 1
        dt = time.perf_counter() - t0
        self.elapsed += dt
        metrics = FinetuneStep(
            self.steps_done, loss_value, lr, grad_norm, int(weights.sum()), dt, self.elapsed
        )
        self.history.append(metrics)
        return metrics

    def answers(self, items: tuple[Item, ...] | None = None) -> list[str]:
        """The model's greedy answers now, to `items` (default: the held-out questions asked)."""
        items = self.heldout if items is None else items
        # Room for the longest answer and its END (plus slack for tokens longer than a char).
        room = self.task.longest_answer + 2
        return greedy_answers(self.model, self.tokenizer, items, max_new_tokens=room)

    def evaluate(self) -> FinetuneEval:
        """Held-out exact-match accuracy now (at step 0: the untuned model's)."""
        answers = self.answers()
        accuracy = exact_match(answers, self.heldout)
        metrics = FinetuneEval(
            self.steps_done, accuracy, round(accuracy * len(self.heldout)), len(self.heldout)
        )
        self.evals.append(metrics)
        return metrics

    def training_state_mb(self) -> float:
        """Memory training adds beside the model, in MB: one gradient per trainable weight and
        Adam's two moments (read from the optimizer, so 0 for them before the first step)."""
        moments = sum(
            t.numel() * t.element_size()
            for state in self.optimizer.state.values()
            for t in state.values()
            if isinstance(t, torch.Tensor) and t.dim()
        )
        grads = sum(p.numel() * p.element_size() for p in self.params)
        return (moments + grads) / 1e6

    def merged_model(self) -> nn.Module:
        """A plain model with the adapters folded in (a copy; training can go on).

        Built as a new GPT from the weights as the model computes them (W + scale B A on each
        adapted layer), not by deep-copying and un-parametrizing: a deep copy shares the
        parametrized layers' generated classes with the original, so removing the copy's
        parametrizations would take `weight` away from the model still training.
        """
        with rng.seeded(None):  # the throwaway initial weights draw from the global generator
            plain = GPT(self.model.config)
        state = {name: attrgetter(name)(self.model).detach().clone() for name in plain.state_dict()}
        plain.load_state_dict(state)
        return plain.eval()


def _example(tokenizer: Tokenizer, item: Item, block_size: int) -> Example | None:
    """The item as a training example, or None if it does not fit in block_size tokens."""
    try:
        return build_example(tokenizer, item.instruction, item.input, item.answer, block_size)
    except ExampleTooLongError:
        return None

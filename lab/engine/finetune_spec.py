"""A fine-tuning run as the Fine-tune page asks for it, checked before anything is built.

`FinetuneSpec` is what a student picked (frozen: it keys caches); `problems` says in words why
it cannot run on a given base model, naming each setting as the page shows it. The limits keep
one shared CPU server usable for a class, like the training page's (lab/engine/run_limits.py).
`readable_problem` says why a base model cannot be fine-tuned here at all.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from torch import nn

from lab.engine import budget
from lab.engine.run_limits import MAX_PARAMS
from minigpt.config import GPTConfig
from minigpt.finetune.data import ANSWER, END
from minigpt.finetune.lora import LoRAConfig, add_lora, trainable_params
from minigpt.finetune.tasks import INSTRUCTIONS, MAX_CHARS, TaskSet
from minigpt.finetune.trainer import METHODS, FinetuneConfig
from minigpt.tokenizers.tokenizer import CharTokenizer, Tokenizer

# What each method's learning rate starts at: LoRA's usual, and about a tenth for full
# fine-tuning (the README's measured 150-step runs: rank 8 at 2e-3, full at 3e-4).
DEFAULT_LR = {"lora": 2e-3, "full": 3e-4}
DEFAULT_STEPS = 150
DEFAULT_EVAL_ITEMS = 32
# Questions per step. The core's default is 16, but a step of the shipped model on 16
# questions of up to MAX_CHARS characters is costed at ~137 MB, over the 96 MB one request may
# use (lab/engine/budget.py); 8 fits (~85 MB).
DEFAULT_BATCH = 8
MAX_BATCH = 64
# Limits of one shared CPU server: a step of the shipped model takes ~0.1-0.4 s and asking
# the held-out questions ~0.04 s each, so these bound a run to minutes, not hours.
MAX_STEPS = 2000
MAX_EVAL_ITEMS = 256
MAX_RANK = 64
MAX_LR = 0.1  # fine-tuning moves weights gently; 0.1 already wrecks a pretrained model
METHOD_NAMES = {"lora": "LoRA", "full": "Full"}


@dataclass(frozen=True)
class FinetuneSpec:
    """Everything the page lets a student choose about one fine-tune."""

    task: str = "play"
    method: str = "lora"  # "lora" | "full"
    rank: int = 8  # LoRA only
    mask_instruction: bool = True  # False: the loss counts the question's tokens too
    max_iters: int = DEFAULT_STEPS
    learning_rate: float = DEFAULT_LR["lora"]
    eval_items: int = DEFAULT_EVAL_ITEMS
    batch_size: int = DEFAULT_BATCH

    def config(self) -> FinetuneConfig:
        """The core's config; alpha is twice the rank, so the change's scale stays the same."""
        lora = LoRAConfig(rank=self.rank, alpha=2.0 * self.rank)
        return FinetuneConfig(
            method=self.method,
            lora=lora,
            mask_instruction=self.mask_instruction,
            batch_size=self.batch_size,
            max_iters=self.max_iters,
            learning_rate=self.learning_rate,
            eval_items=self.eval_items,
        )

    def label(self) -> str:
        """Example: FinetuneSpec(rank=8).label() == "LoRA r8"; full fine-tuning is "Full"."""
        return f"LoRA r{self.rank}" if self.method == "lora" else METHOD_NAMES.get(self.method, "?")

    def problems(self, model: nn.Module) -> list[str]:
        """Every reason this spec cannot fine-tune `model`, each a sentence (empty when fine)."""
        out = []
        if self.task not in INSTRUCTIONS:
            out.append(f"Task must be one of {', '.join(INSTRUCTIONS)} (got {self.task!r})")
        if self.method not in METHODS:
            return [*out, f"Method must be LoRA or full (got {self.method!r})"]
        if self.method == "lora" and not 1 <= self.rank <= MAX_RANK:
            out.append(f"LoRA rank must be between 1 and {MAX_RANK} (got {self.rank})")
        if not 1 <= self.max_iters <= MAX_STEPS:
            out.append(f"Steps must be between 1 and {MAX_STEPS:,} (got {self.max_iters:,})")
        if not 1 <= self.batch_size <= MAX_BATCH:
            out.append(f"Batch size must be between 1 and {MAX_BATCH} (got {self.batch_size:,})")
        if not 1 <= self.eval_items <= MAX_EVAL_ITEMS:
            out.append(
                f"Held-out questions must be between 1 and {MAX_EVAL_ITEMS} (got "
                f"{self.eval_items:,}): each evaluation asks every one of them"
            )
        if not 0 < self.learning_rate <= MAX_LR:
            out.append(
                f"Learning rate must be above 0 and at most {MAX_LR:g} (got "
                f"{self.learning_rate:g}): fine-tuning nudges a trained model, it does not "
                "start over"
            )
        if out:
            return out
        # The core's own checks (warmup against steps, the schedule), worded as it words them.
        out += [p[0].upper() + p[1:] for p in self.config().problems(model.config.n_layer)]
        n_params = sum(p.numel() for p in model.parameters())
        if n_params > MAX_PARAMS:
            out.append(
                f"The base model has {n_params:,} parameters; this server fine-tunes at most "
                f"{MAX_PARAMS:,}"
            )
            return out
        return out + self.budget_problems(model.config)

    def request(self, config: GPTConfig) -> budget.Request:
        """What a step asks of the server: a batch of questions no longer than MAX_CHARS
        characters (one token each for a char model) or the context, whichever is shorter.

        Costed as full training whatever the method (LoRA's optimizer is smaller, so this is
        an upper bound), with two copies of the weights: the run's own, and the unfrozen copy
        it is made from.
        """
        tokens = min(MAX_CHARS, config.block_size)
        return budget.Request(config, self.batch_size, tokens, mode="train", copies=2)

    def budget_problems(self, config: GPTConfig) -> list[str]:
        """The server's memory and time budget (lab/engine/budget.py) for this run, as sentences."""
        req = self.request(config)
        memory = budget.refusal(req, knobs=("batch_size",), what="Fine-tuning this model")
        time = budget.time_refusal(req, self.max_iters)
        return [p for p in (memory, time) if p]


def readable_problem(tokenizer: Tokenizer, task: TaskSet) -> str | None:
    """Why a model with this tokenizer cannot take the task's questions, or None if it can.

    The tasks are spelled in Shakespeare's characters and answers are scored letter for letter,
    so the lab fine-tunes character models only, and only those that know every character of
    the template and of the task's questions and answers (a model trained on a pasted text
    may never have seen "?", say).
    """
    if not isinstance(tokenizer, CharTokenizer):
        return (
            f"it reads {tokenizer.kind} tokens; the lab fine-tunes character models only, "
            "whose answers are scored character by character"
        )
    needed = set(ANSWER + END + "?")
    for item in (*task.train, *task.heldout):
        needed.update(item.instruction, item.input, item.answer)
    _, missing = tokenizer.known("".join(sorted(needed)))
    if missing:
        shown = " ".join(repr(c) for c in sorted(missing)[:8])
        return (
            f"it never saw {len(missing)} character{'s' if len(missing) > 1 else ''} the "
            f"questions use ({shown}), so it cannot read them"
        )
    return None


def parameter_share(model: nn.Module, spec: FinetuneSpec) -> tuple[int, int]:
    """(weights that train, all weights) for this method on this model, adapters included.

    Counted on a throwaway copy the way the trainer counts (minigpt.finetune.lora's
    trainable_params), so the page shows exactly what Start will train.
    """
    if spec.method != "lora":
        return trainable_params(copy.deepcopy(model).requires_grad_(True))
    adapted = copy.deepcopy(model)
    add_lora(adapted, spec.config().lora)
    return trainable_params(adapted)

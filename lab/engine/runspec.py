"""A training run as a person asks for it, checked before anything is built.

`RunSpec` is what was asked for (frozen: it keys caches); `RunSpec.problems(text)` says in
words why it cannot run, naming each setting as the training page shows it. The limits that
keep one shared CPU server usable for a whole class are in lab/engine/run_limits.py;
lab/engine/liverun.py trains what they allow.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from lab.engine import budget
from lab.engine import run_limits as limits
from minigpt.config import PRESETS, GPTConfig
from minigpt.tokenizers.tokenizer import Tokenizer, build_tokenizer
from minigpt.training.corpus import CorpusError, check_corpus
from minigpt.training.repeats import LIVE_INDUCTION
from minigpt.training.trainer import TrainConfig

# The default run, chosen by measurement on Shakespeare's plays with one torch thread
# (`python -m minigpt.train --preset lab-live --batch_size 32 --max_iters 1500
# --learning_rate 1e-2 --warmup_iters 100 --eval_interval 100`): validation loss 1.892 at step
# 900 (80 s of training on a quiet 2-core machine), 1.772 at the end (1500 steps, 127 s).
# Learning rates 4e-3 (the old default, 1.799 at the end), 5e-3, 6e-3 and 8e-3 needed 6-17%
# more steps to reach 1.902 on tinyshakespeare (the benchmarks' time-to-quality bar). 3 layers
# x 96 wide did as well per CPU second, but this shape has more heads to watch.
LIVE_MODEL = PRESETS["lab-live"]
LIVE_TRAIN = TrainConfig(
    batch_size=32,
    max_iters=1500,
    learning_rate=1e-2,
    warmup_iters=100,
    eval_interval=100,
    eval_iters=20,
)

BPE_TRAIN_CHARS = 300_000  # BPE learns its merges on the corpus's start: seconds, not minutes
SAMPLE_TOKENS = 160  # the live log's samples stay short, so logging costs little training time
DEFAULT_PROMPT = "ROMEO:\n"
# Repeated, so the second copy shows induction heads looking back at the first.
DEFAULT_PROBE = "All that glisters is not gold.\nAll that glisters is not gold."


class RunError(ValueError):
    """A run cannot be built; `problems` lists every reason, each a sentence."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class RunSpec:
    """Everything that decides a run. model.vocab_size is set from the tokenizer when built."""

    corpus_key: str = "shakespeare"  # names the text (e.g. a digest of an upload)
    tokenizer: str = "char"  # char | bpe | word
    vocab_size: int | None = None  # BPE's size, or the word tokenizer's cap; char ignores it
    model: GPTConfig = LIVE_MODEL
    train: TrainConfig = LIVE_TRAIN
    # Share of training windows rewritten to hold a span and its repeat (RepeatData), and of
    # those the share whose span is random tokens; above 0 the run also records a FormingTrace.
    repeat_fraction: float = 0.0
    random_fraction: float = 1.0

    @property
    def grows_induction(self) -> bool:
        """This run's text makes copying pay off, so its heads' forming is recorded."""
        return self.repeat_fraction > 0

    def input_problems(self, text: str) -> list[str]:
        """What must hold before a tokenizer is built: a usable text and tokenizer settings."""
        try:
            check_corpus(text, limits.MIN_CHARS)
        except CorpusError as e:
            return [f"Corpus: {e}"]
        return limits.tokenizer_problems(self.tokenizer, self.vocab_size)

    def problems(
        self, text: str, n_tokens: int | None = None, n_vocab: int | None = None
    ) -> list[str]:
        """Every reason this run cannot train on text, worded for a person (empty when fine).

        n_tokens and n_vocab are the corpus's length in tokens and the tokenizer's size, if
        known; otherwise they are counted or bounded (for BPE the token count is bounded by
        the bytes, and the exact check happens when the data is built).
        """
        if out := self.input_problems(text):
            return out
        out += [limits.labelled(p) for p in self.train.problems()]
        out += limits.size_problems(self.model, self.train)
        if out:
            return out
        n_vocab = n_vocab or limits.vocab_estimate(self.tokenizer, self.vocab_size, text)
        out += limits.params_problems(self.model.replace(vocab_size=n_vocab))
        n_tokens = limits.token_estimate(self.tokenizer, text, n_tokens)
        out += limits.split_problems(self.model.block_size, self.train.val_fraction, n_tokens)
        return out or self.budget_problems(n_vocab)

    def request(self, n_vocab: int) -> budget.Request:
        """What this run asks of the server: training at its batch size, with the training
        page's time-per-step preview stepping a second copy of the model alongside."""
        cfg = self.model.replace(vocab_size=max(1, n_vocab))
        return budget.Request(cfg, self.train.batch_size, mode="train", copies=2)

    def budget_problems(self, n_vocab: int) -> list[str]:
        """The server's memory and time budget (lab/engine/budget.py) for this run, as sentences."""
        # A char model's vocabulary is the text's distinct characters: a setting of the text.
        char = self.tokenizer == "char"
        labels = {"vocab_size": "Distinct characters in the text" if char else "Vocabulary size"}
        req = self.request(n_vocab)
        memory = budget.refusal(req, budget.TRAIN_KNOBS, labels)
        if memory and char and "(vocab_size)" in memory:
            memory = memory.rstrip(".") + "; or use the BPE tokenizer, whose vocabulary you choose."
        time = budget.time_refusal(req, self.train.max_iters)
        return [p for p in (memory, time) if p]

    def step_cost_key(self) -> RunSpec:
        """This spec with the settings that cannot change a step's cost put back to defaults.

        A step costs the same whatever the step count, schedule, seed or evaluation settings,
        so a cache of measured step times keyed on this key is not re-timed when they change.
        Example: two specs differing only in max_iters have equal step_cost_key()s.
        """
        d = LIVE_TRAIN
        return dataclasses.replace(
            self,
            train=dataclasses.replace(
                self.train,
                max_iters=d.max_iters,
                learning_rate=d.learning_rate,
                min_lr=d.min_lr,
                warmup_iters=d.warmup_iters,
                eval_iters=d.eval_iters,
                eval_interval=d.eval_interval,
                seed=d.seed,
            ),
        )

    def describe(self) -> str:
        """Example: "4 layers × 4 heads × 64 wide, context 64, learned positions, char tokens"."""
        m = self.model
        return (
            f"{m.n_layer} layers × {m.n_head} heads × {m.n_embd} wide, context {m.block_size}, "
            f"{m.pos_emb} positions, {self.tokenizer} tokens"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "corpus_key": self.corpus_key,
            "tokenizer": self.tokenizer,
            "vocab_size": self.vocab_size,
            "model": self.model.to_dict(),
            "train": self.train.to_dict(),
            "repeat_fraction": self.repeat_fraction,
            "random_fraction": self.random_fraction,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSpec:
        return cls(
            d["corpus_key"],
            d["tokenizer"],
            d["vocab_size"],
            GPTConfig.from_dict(d["model"]),
            TrainConfig.from_dict(d["train"]),
            float(d.get("repeat_fraction", 0.0)),  # older saved runs have no repeats
            float(d.get("random_fraction", 1.0)),
        )


def make_spec(
    model: dict[str, Any],
    train: dict[str, Any],
    tokenizer: str = "char",
    vocab_size: int | None = None,
    corpus_key: str = "shakespeare",
) -> tuple[RunSpec | None, list[str]]:
    """A RunSpec from a form's values (missing fields from LIVE_MODEL and LIVE_TRAIN), or None
    and every problem that stopped it.

    GPTConfig refuses an impossible shape (width not divisible by heads) as it is made, so a
    form cannot hold one in a RunSpec; this collects those problems with the training ones.
    Example: make_spec({"n_embd": 65, "n_head": 4}, {})[0] is None.
    """
    train_cfg = LIVE_TRAIN.replace(**train)  # fields the form leaves out keep the live defaults
    try:
        cfg = GPTConfig(**{**LIVE_MODEL.to_dict(), **model})
    except ValueError as e:
        shape = [limits.labelled(p) for p in str(e).split("; ")]
        return None, shape + [limits.labelled(p) for p in train_cfg.problems()]
    return RunSpec(corpus_key, tokenizer, vocab_size, cfg, train_cfg), []


def build_run_tokenizer(kind: str, text: str, vocab_size: int | None) -> Tokenizer:
    """The tokenizer a run trains with; BPE learns its merges on the first BPE_TRAIN_CHARS."""
    return build_tokenizer(kind, text[:BPE_TRAIN_CHARS] if kind == "bpe" else text, vocab_size)


def induction_spec(corpus_key: str = "shakespeare") -> RunSpec:
    """The "Grow an induction head" preset: LIVE_INDUCTION's model, settings and repeats."""
    return RunSpec(
        corpus_key=corpus_key,
        model=LIVE_INDUCTION.model,
        train=LIVE_INDUCTION.train,
        repeat_fraction=LIVE_INDUCTION.repeat_fraction,
        random_fraction=LIVE_INDUCTION.random_fraction,
    )

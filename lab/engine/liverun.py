"""One training run as a person watches it: trained in short slices of time, keeping a log of
samples and snapshots of the attention heads.

`LiveRun` bundles tokenizer, data, model and `Trainer` for a checked `RunSpec`
(lab/engine/runspec.py), and `advance(seconds)` trains until the time is spent, so a caller (the
live page, the compare page, a test) decides how long each slice is and what to draw in between.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from lab.engine import budget, metrics
from lab.engine.runspec import (
    DEFAULT_PROBE,
    DEFAULT_PROMPT,
    LIVE_TRAIN,
    SAMPLE_TOKENS,
    RunError,
    RunSpec,
    build_run_tokenizer,
)
from lab.engine.views import AttentionView, attention_for_ids
from minigpt import rng
from minigpt.analysis.ablation import text_passages
from minigpt.analysis.forming import FormingTrace
from minigpt.model import GPT
from minigpt.sampling import SamplingConfig, generate
from minigpt.tokenizers.tokenizer import CharTokenizer, Tokenizer
from minigpt.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from minigpt.training.data import TokenData
from minigpt.training.repeats import RepeatData
from minigpt.training.trainer import StepMetrics, Trainer, TrainingDiverged


@dataclass(frozen=True)
class HeadSnapshot:
    """What the heads did on the probe text at one step of training."""

    step: int
    view: AttentionView  # maps (n_layer, n_head, T, T) as float16; per-head scores


@dataclass
class _Clock:
    """Wall time spent in advance() and the steps it made: for the ETA."""

    seconds: float = 0.0
    steps: int = 0
    recent: list[tuple[float, int]] = field(default_factory=list)  # (seconds, steps) per slice


LOG_SHARE = 0.05  # the most of a run's training time its logged samples and snapshots may take
LOG_FREE_SECONDS = 1.0  # ... unless they take less than this in all
MIN_LOG_TOKENS = 32  # a logged sample's length when the context leaves less room than this


class LiveRun:
    """A run that trains in slices: tokenizer, data, model, trainer, samples and head snapshots.

    Example:
        run = LiveRun(RunSpec(), shakespeare_text())
        while not run.done:
            run.advance(0.5)
    """

    def __init__(
        self,
        spec: RunSpec,
        text: str,
        *,
        tokenizer: Tokenizer | None = None,
        data: TokenData | None = None,
        model: GPT | None = None,
        prompt: str = DEFAULT_PROMPT,
        probe_text: str = DEFAULT_PROBE,
    ) -> None:
        if problems := spec.problems(text, None if data is None else len(data)):
            raise RunError(problems)
        self.tokenizer = tokenizer or build_run_tokenizer(spec.tokenizer, text, spec.vocab_size)
        if spec.grows_induction and not isinstance(data, RepeatData):
            ids = self.tokenizer.encode(text) if data is None else data.ids  # the same split
            data = RepeatData(
                ids,
                spec.train.val_fraction,
                spec.repeat_fraction,
                spec.random_fraction,
                vocab_size=self.tokenizer.vocab_size,
            )
        if data is None:
            data = _token_data(text, self.tokenizer, spec.train.val_fraction)
        self.data = data
        cfg = spec.model.replace(vocab_size=self.tokenizer.vocab_size)
        self.spec = dataclasses.replace(spec, model=cfg)
        if problems := self.spec.problems(text, len(data), cfg.vocab_size):  # exact counts
            raise RunError(problems)
        if model is None:
            with rng.seeded(spec.train.seed):  # alone on the global generator, then handed back
                model = GPT(cfg)
        self.model = model
        try:
            self.trainer = Trainer(model, data, self.spec.train)
        except ValueError as e:
            raise RunError([str(e)]) from None
        self.prompt_ids = _readable(self.tokenizer, prompt) or _readable(self.tokenizer, text[:8])
        self.probe_ids = (_readable(self.tokenizer, probe_text) or self.prompt_ids)[
            : cfg.block_size
        ]
        self.samples: list[tuple[int, str]] = []  # (step, text), oldest first
        self.snapshots: list[HeadSnapshot] = []
        self.failure: str | None = None  # why training stopped early (it diverged)
        # How logged samples are made when advance() is not told (a background thread only
        # passes seconds): the page sets it from the sidebar when the run starts.
        self.sampling: SamplingConfig | None = None
        # Recorded at every evaluation when the run grows an induction head (lab/training/
        # induction.py draws it): scores of every head, and loss on the first vs second copy of
        # validation passages, the same passages each time.
        self.forming: FormingTrace | None = None
        if spec.grows_induction:
            length = min(32, cfg.block_size // 2, len(data.val) - 1)
            self.forming = FormingTrace(text_passages(data.val, length) if length >= 2 else None)
        self.clock = _Clock()
        # Seconds this run may train in all (budget.MAX_RUN_SECONDS; a comparison shares it out).
        self.time_limit: float = budget.MAX_RUN_SECONDS
        self.sample_every = self.snapshot_every = log_every(self.spec.train.max_iters)

    # -- progress

    @property
    def steps_done(self) -> int:
        return self.trainer.steps_done

    @property
    def max_iters(self) -> int:
        return self.trainer.config.max_iters

    @property
    def done(self) -> bool:
        """Nothing more to train: every step is done, or training diverged."""
        return self.failure is not None or self.steps_done >= self.max_iters

    def advance(
        self,
        seconds: float,
        sampling: SamplingConfig | None = None,
        keep_going: Callable[[], bool] | None = None,
    ) -> list[StepMetrics]:
        """Train until `seconds` have passed (at least one step) or the run is done.

        Evaluates when the schedule says so; every few steps adds a sample (made with
        `sampling`, else the run's own `sampling`) and a head snapshot. `keep_going` is asked between steps, so a Stop
        pressed meanwhile ends the slice after the current step. A diverging step sets
        `failure` and ends the slice; the model keeps its last sane weights.
        """
        if self.done:
            return []
        sampling = sampling or self.sampling
        start = time.perf_counter()
        if not self.snapshots:
            self._log(sampling, force=True)  # where it starts: noise, heads looking everywhere
        made: list[StepMetrics] = []
        while not self.done and (
            not made
            or (time.perf_counter() - start < seconds and (keep_going is None or keep_going()))
        ):
            try:
                m = self.trainer.step()
            except TrainingDiverged as e:
                self.failure = str(e)
                break
            made.append(m)
            if self.clock.seconds + time.perf_counter() - start >= self.time_limit:
                self.failure = (
                    f"This run reached the {self.time_limit / 60:.0f} minutes of training one "
                    f"run may take on this shared server, at step {self.steps_done:,} of "
                    f"{self.max_iters:,}."
                )
            if self.trainer.eval_due:
                self.trainer.evaluate()
                if self.forming is not None:
                    self.forming.record(m.step, self.model)
            if m.step % self.sample_every == 0 or m.step % self.snapshot_every == 0 or self.done:
                self._log(sampling)
        spent = time.perf_counter() - start
        self.clock.seconds += spent
        self.clock.steps += len(made)
        self.clock.recent = [*self.clock.recent[-19:], (spent, len(made))]
        return made

    def log_tokens(self, sampling: SamplingConfig | None = None) -> int:
        """New tokens in each logged sample with these settings (see `log_tokens`)."""
        asked = (sampling or SamplingConfig()).max_new_tokens
        return log_tokens(asked, self.spec.model.block_size, len(self.prompt_ids))

    def set_log_every(self, every: int) -> None:
        """Log a sample and a head snapshot every `every` steps (estimate.log_schedule picks it
        from measured costs, so a small model does not spend its run logging)."""
        self.sample_every = self.snapshot_every = max(1, every)

    def _log(self, sampling: SamplingConfig | None, force: bool = False) -> None:
        step = self.steps_done
        if force or step % self.sample_every == 0 or self.done:
            self.samples = [s for s in self.samples if s[0] != step]
            short = dataclasses.replace(
                sampling or SamplingConfig(), max_new_tokens=self.log_tokens(sampling)
            )
            self.samples.append((step, self.sample(sampling=short)))
        if force or step % self.snapshot_every == 0 or self.done:
            self.snapshot_heads()

    def eta_seconds(self) -> float | None:
        """Seconds left at the recent pace (evaluations and logging included), None if unknown."""
        seconds = sum(s for s, _ in self.clock.recent)
        steps = sum(n for _, n in self.clock.recent)
        if self.done:
            return 0.0
        return None if not steps else (self.max_iters - self.steps_done) * seconds / steps

    def tokens_per_second(self) -> float | None:
        """Training tokens per wall-clock second over the recent slices, evaluations included."""
        seconds = sum(s for s, _ in self.clock.recent)
        steps = sum(n for _, n in self.clock.recent)
        if not seconds:
            return None
        return steps * self.spec.train.batch_size * self.spec.model.block_size / seconds

    # -- looking at the model

    @torch.no_grad()
    def sample(self, prompt: str | None = None, sampling: SamplingConfig | None = None) -> str:
        """The prompt and the model's continuation, at most SAMPLE_TOKENS new tokens long.

        The generator is seeded from the sampling settings, so two samples differ only because
        the weights changed.
        """
        sampling = sampling or SamplingConfig()
        ids = self.prompt_ids if prompt is None else _readable(self.tokenizer, prompt)
        ids = ids or self.prompt_ids
        g = torch.Generator().manual_seed(sampling.seed)
        out = generate(
            self.model,
            torch.tensor([ids]),
            min(sampling.max_new_tokens, SAMPLE_TOKENS),
            temperature=sampling.temperature,
            top_k=sampling.top_k,
            top_p=sampling.top_p,
            generator=g,
        )
        return self.tokenizer.decode(out[0].tolist())

    def snapshot_heads(self, probe_text: str | None = None) -> HeadSnapshot:
        """Attention maps and head scores on the probe text now; kept in `snapshots`."""
        ids = self.probe_ids
        if probe_text is not None:
            ids = (_readable(self.tokenizer, probe_text) or ids)[: self.spec.model.block_size]
        view = attention_for_ids(self.model, ids)
        view = dataclasses.replace(view, maps=view.maps.astype(np.float16))
        snap = HeadSnapshot(self.steps_done, view)
        if probe_text is None:
            self.snapshots = [s for s in self.snapshots if s.step != snap.step] + [snap]
        return snap

    def frozen_model(self) -> GPT:
        """A copy of the model as it is now, in eval mode and without gradients: training on
        does not change it, so it can be shown on other pages."""
        model = copy.deepcopy(self.model).eval()
        return model.requires_grad_(False)

    # -- numbers for charts and files

    def metrics_rows(self) -> list[dict[str, float | int | None]]:
        """One row per step (train_loss is that step's batch), joined with the evaluation where
        one ran; the evaluation columns are None elsewhere (see lab/engine/metrics.py)."""
        return metrics.run_rows(self.trainer.history, self.trainer.evals)

    # -- checkpoints

    def to_checkpoint_bytes(self) -> bytes:
        """A .safetensors checkpoint: weights, optimizer and schedule, metrics, samples."""
        extra = {"spec": self.spec.to_dict(), "samples": self.samples, "failure": self.failure}
        return save_checkpoint(None, self.model, self.tokenizer, self.trainer, extra=extra)

    @classmethod
    def from_checkpoint(
        cls,
        data: bytes,
        text: str,
        *,
        corpus_key: str | None = None,
        max_iters: int | None = None,
        token_data: TokenData | None = None,
    ) -> LiveRun:
        """Continue a saved run on `text` (normally the corpus it was trained on).

        max_iters can lengthen a finished run. Raises CheckpointError for a file that is not a
        usable checkpoint and RunError when it cannot train on this text.
        """
        # CheckpointError for pickles, truncation, wrong shapes, and what the budget refuses.
        ckpt = load_checkpoint(data, **budget.checkpoint_args())
        train = ckpt.train_config or LIVE_TRAIN
        state = ckpt.trainer_state
        done = int(state["steps_done"]) if state else 0
        if max_iters is not None:
            if max_iters <= done:
                raise RunError([f"Steps (max_iters) must be more than the {done:,} already done"])
            train = train.replace(max_iters=max_iters)
        saved = ckpt.extra.get("spec")
        try:
            spec = RunSpec.from_dict(saved) if saved else None
        except (KeyError, TypeError, ValueError):
            spec = None
        tok = ckpt.tokenizer
        spec = RunSpec(
            corpus_key or (spec.corpus_key if spec else "unknown"),
            tok.kind,
            None if tok.kind == "char" else (spec.vocab_size if spec else tok.vocab_size),
            ckpt.config,
            train,
        )
        if token_data is None:
            try:
                token_data = _token_data(text, tok, train.val_fraction)
            except ValueError as e:
                raise RunError(
                    [
                        f"The checkpoint's tokenizer cannot read this corpus: {e}. Continue on "
                        "the text it was trained on"
                    ]
                ) from None
        run = cls(spec, text, tokenizer=tok, data=token_data, model=ckpt.model)
        if state is not None:
            try:
                run.trainer.load_state_dict(state)
            except (ValueError, KeyError, RuntimeError) as e:
                raise CheckpointError(
                    f"the checkpoint's training state does not fit: {e}"
                ) from None
        run.samples = [(int(s), str(t)) for s, t in ckpt.extra.get("samples", [])]
        run.failure = None  # a diverged run may be continued, say with a lower learning rate
        return run


def log_every(max_iters: int, step_seconds: float = 0.0, log_seconds: float = 0.0) -> int:
    """Steps between two logged samples (and head snapshots): about 20 in a run, but, when the
    costs of a step and of one log (a sample and a snapshot) are known, only as many as fit in
    LOG_SHARE of the training time or LOG_FREE_SECONDS, whichever is more.

    A 150-step run of lab-live logged every 8 steps, and its samples took 23% of the run; a
    tiny model's run still logs about 20 times, its logs taking a second in all.
    Example: log_every(1500) == 75; log_every(150, step_seconds=0.1, log_seconds=0.2) == 30
    """
    every = max(1, round(max_iters / 20))
    if step_seconds > 0 and log_seconds > 0:
        budget = max(LOG_SHARE * max_iters * step_seconds, LOG_FREE_SECONDS)
        every = max(every, math.ceil(max_iters * log_seconds / budget - 1e-9))
    return every


def log_tokens(asked: int, block_size: int, prompt_tokens: int) -> int:
    """New tokens in a logged sample: as many as asked, at most SAMPLE_TOKENS, and only as many
    as fit in the model's context after the prompt (at least MIN_LOG_TOKENS).

    Inside the context each new token costs one position's work (its keys and values are
    cached); past it every token reruns the whole window. On lab-live (context 64) a
    160-token sample cost 4 training steps, a 57-token one just over one.
    Example: log_tokens(200, 64, 7) == 57; log_tokens(20, 64, 7) == 20
    """
    room = max(MIN_LOG_TOKENS, block_size - prompt_tokens)
    return max(1, min(asked, SAMPLE_TOKENS, room))


def logged_sample_tokens(tokenizer: Tokenizer, block_size: int, asked: int) -> int:
    """LiveRun.log_tokens before the run exists: the default prompt, this tokenizer and context."""
    return log_tokens(asked, block_size, len(_readable(tokenizer, DEFAULT_PROMPT)))


def _token_data(text: str, tokenizer: Tokenizer, val_fraction: float) -> TokenData:
    return TokenData.from_text(text, tokenizer, val_fraction)


def _readable(tokenizer: Tokenizer, text: str) -> list[int]:
    """Ids of the part of text the tokenizer can read (a char model skips unknown characters)."""
    if isinstance(tokenizer, CharTokenizer):
        text = tokenizer.known(text)[0]
    return tokenizer.encode(text)

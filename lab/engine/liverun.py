"""One training run as a person watches it: trained in short slices of time, keeping a log of
samples and snapshots of the attention heads.

`LiveRun` bundles tokenizer, data, model and `Trainer` for a checked `RunSpec`
(lab/engine/runspec.py), and `advance(seconds)` trains until the time is spent, so a caller (the
live page, the compare page, a test) decides how long each slice is and what to draw in between.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from lab.engine import budget, metrics
from lab.engine.logs import log_every, log_tokens, readable
from lab.engine.pace import Pace
from lab.engine.resume import read_saved_run
from lab.engine.runspec import (
    DEFAULT_PROBE,
    DEFAULT_PROMPT,
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
from minigpt.tokenizers.tokenizer import Tokenizer
from minigpt.training.checkpoint import CheckpointError, save_checkpoint
from minigpt.training.data import TokenData
from minigpt.training.repeats import RepeatData
from minigpt.training.trainer import StepMetrics, Trainer, TrainingDiverged


@dataclass(frozen=True)
class HeadSnapshot:
    """What the heads did on the probe text at one step of training."""

    step: int
    view: AttentionView  # maps (n_layer, n_head, T, T) as float16; per-head scores


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
            data = TokenData.from_text(text, self.tokenizer, spec.train.val_fraction)
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
        self.prompt_ids = readable(self.tokenizer, prompt) or readable(self.tokenizer, text[:8])
        self.probe_ids = (readable(self.tokenizer, probe_text) or self.prompt_ids)[: cfg.block_size]
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
        self.clock = Pace()  # wall time in advance() and the steps it made: for the ETA
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
        self.clock.record(time.perf_counter() - start, len(made))
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
        return 0.0 if self.done else self.clock.seconds_left(self.max_iters - self.steps_done)

    def tokens_per_second(self) -> float | None:
        """Training tokens per wall-clock second over the recent slices, evaluations included."""
        return self.clock.per_second(self.spec.train.batch_size * self.spec.model.block_size)

    # -- looking at the model

    @torch.no_grad()
    def sample(self, prompt: str | None = None, sampling: SamplingConfig | None = None) -> str:
        """The prompt and the model's continuation, at most SAMPLE_TOKENS new tokens long.

        The generator is seeded from the sampling settings, so two samples differ only because
        the weights changed.
        """
        sampling = sampling or SamplingConfig()
        ids = self.prompt_ids if prompt is None else readable(self.tokenizer, prompt)
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
            ids = (readable(self.tokenizer, probe_text) or ids)[: self.spec.model.block_size]
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
        usable checkpoint and RunError when it cannot train on this text (lab/engine/resume.py).
        """
        saved = read_saved_run(
            data, text, corpus_key=corpus_key, max_iters=max_iters, token_data=token_data
        )
        ckpt, state = saved.checkpoint, saved.checkpoint.trainer_state
        run = cls(saved.spec, text, tokenizer=ckpt.tokenizer, data=saved.data, model=ckpt.model)
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

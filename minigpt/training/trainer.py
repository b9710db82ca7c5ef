"""Training, pull-based: `Trainer.step()` does one update and returns what happened.

The caller (a Streamlit page, the CLI, a test) decides when to step, when to evaluate, what to
draw and when to stop; nothing here prints. A step whose loss or gradient is not a finite,
believable number is never applied: the weights go back to the last sane ones and
`TrainingDiverged` says what happened and what to try.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from minigpt import rng
from minigpt.legacy import stack_legacy_moments
from minigpt.training.adamw import AdamW
from minigpt.training.data import TokenData
from minigpt.training.distributed import DistContext, autocast
from minigpt.training.schedule import TrainConfig, lr_at

_NO_DRAWS = contextlib.nullcontext()  # a step without dropout draws no random numbers


@dataclass(frozen=True)
class StepMetrics:
    step: int  # updates done, this one included
    loss: float  # on this step's training batch, before the update
    lr: float
    grad_norm: float  # before clipping
    tokens_per_s: float
    dt: float  # seconds this step took
    elapsed: float  # seconds spent in step() so far (pauses between steps do not count)


@dataclass(frozen=True)
class EvalMetrics:
    step: int
    train_loss: float  # mean over eval_iters batches, like val_loss, so the two compare
    val_loss: float
    train_ppl: float  # exp(loss): "as unsure as a uniform choice among this many tokens"
    val_ppl: float


class TrainingDiverged(RuntimeError):
    """The loss or gradient blew up; the step was not applied and the last sane weights are back."""

    def __init__(self, message: str, step: int, loss: float) -> None:
        super().__init__(message)
        self.step, self.loss = step, loss


def divergence_limit(vocab_size: int) -> float:
    """A loss no learning model reaches: far above guessing uniformly (ln vocab_size)."""
    return 3 * math.log(vocab_size) + 5


class Trainer:
    """AdamW on a GPT over a TokenData, one `step()` at a time.

    Under torchrun, pass this process's DistContext: every process draws the same global batch
    and trains on its own share of the micro-batches, so N processes take exactly the steps one
    process takes with the same gradient_accumulation_steps. `model` stays the plain GPT (for
    evaluation, sampling and checkpoints); only the training forward goes through DDP.
    """

    def __init__(
        self, model: nn.Module, data: TokenData, cfg: TrainConfig, dist: DistContext | None = None
    ) -> None:
        if problems := cfg.problems():
            raise ValueError("; ".join(problems))
        self.model, self.data, self.config = model, data, cfg
        self.device = next(model.parameters()).device
        self.dist = dist or DistContext(device=self.device)
        if cfg.gradient_accumulation_steps % self.dist.world_size:
            raise ValueError(
                f"gradient_accumulation_steps ({cfg.gradient_accumulation_steps}) must be a "
                f"multiple of the number of processes ({self.dist.world_size}): each process "
                "trains an equal share of every update's micro-batches"
            )
        self.micro_steps = cfg.gradient_accumulation_steps // self.dist.world_size  # per process
        self.ddp: DistributedDataParallel | None = None
        if self.dist.is_distributed:
            # Wrapping copies rank 0's weights to every process. The buffers are constant tables
            # (RoPE angles, sinusoids), so they need no copying again before every forward.
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.ddp = DistributedDataParallel(model, device_ids=ids, forward_sync_buffers=False)
        self.block_size = model.config.block_size
        data.check("train", self.block_size)  # fail now, in words, not at the first batch
        data.check("val", self.block_size)
        self.params = [p for p in model.parameters() if p.requires_grad]  # tied ones once
        # Decay matrices and embeddings only: shrinking biases and LayerNorm gains buys nothing.
        groups = [
            {"params": [p for p in self.params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
            {"params": [p for p in self.params if p.dim() < 2], "weight_decay": 0.0},
        ]
        # torch's fused CPU kernel (see minigpt.training.adamw): on lab-small its update measured
        # ~5x faster than foreach (4.5 vs 23 ms per step, one thread) and within 2e-8 of it.
        self.optimizer = AdamW(groups, lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2))
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.steps_done = 0
        self.elapsed = 0.0
        self.history: list[StepMetrics] = []
        self.evals: list[EvalMetrics] = []
        self.loss_limit = divergence_limit(model.config.vocab_size)
        self._good = [p.detach().clone() for p in self.params]  # last weights with a sane loss

    @property
    def eval_due(self) -> bool:
        """True after every eval_interval-th step and after the last one."""
        n, cfg = self.steps_done, self.config
        return n > 0 and (n % cfg.eval_interval == 0 or n == cfg.max_iters)

    def step(self) -> StepMetrics:
        """One AdamW update on a fresh training batch; raises TrainingDiverged instead of a bad one.

        The batch is gradient_accumulation_steps micro-batches of batch_size windows; this
        process trains its share of them and DDP averages the gradients across processes.
        """
        cfg, t0 = self.config, time.perf_counter()
        lr = lr_at(self.steps_done, cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        n = cfg.batch_size * cfg.gradient_accumulation_steps
        x, y = self.data.get_batch("train", n, self.block_size, self.generator)  # (n, T) each
        if not self.model.training:  # train() walks all ~60 modules: 0.3-0.4 ms a step, for nothing
            self.model.train()
        first = self.dist.rank * self.micro_steps  # this process's first micro-batch
        loss_sum = torch.zeros((), device=self.device)
        for i in range(first, first + self.micro_steps):
            rows = slice(i * cfg.batch_size, (i + 1) * cfg.batch_size)
            last = i == first + self.micro_steps - 1
            loss_sum += self._micro_step(x[rows], y[rows], i, sync=last)
        # Summed over every process, so all of them see the same loss and agree to stop or not:
        # one process raising alone would leave the others waiting for it forever.
        loss_value = self.dist.sum(loss_sum).item() / cfg.gradient_accumulation_steps
        if not math.isfinite(loss_value) or loss_value > self.loss_limit:
            self._diverged(f"the loss became {loss_value:.4g}", loss_value, lr)
        self._remember()
        max_norm = cfg.grad_clip if cfg.grad_clip > 0 else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, max_norm).item()
        if not math.isfinite(grad_norm):
            self._diverged(f"the gradient norm became {grad_norm}", loss_value, lr)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.steps_done += 1
        dt = time.perf_counter() - t0
        self.elapsed += dt
        metrics = StepMetrics(
            self.steps_done, loss_value, lr, grad_norm, x.numel() / dt, dt, self.elapsed
        )
        self.history.append(metrics)
        return metrics

    def _micro_step(self, x: torch.Tensor, y: torch.Tensor, i: int, sync: bool) -> torch.Tensor:
        """Forward and backward on micro-batch i of the update; returns its loss, detached.

        Gradients add up over this process's micro-batches, each scaled so the sum is their
        mean; DDP averages them across processes on the last one (`sync`), not on every one.
        """
        net, skip_sync = self.model, contextlib.nullcontext()
        if self.ddp is not None:
            net, skip_sync = self.ddp, (skip_sync if sync else self.ddp.no_sync())
        # Dropout draws from the global RNG; seeding it per step keeps a resumed run identical
        # to an uninterrupted one, and rng.seeded hands the caller's RNG back untouched and keeps
        # other threads (other Streamlit sessions) out of the stream meanwhile. Adding i * 2**32
        # gives micro-batch i the same masks on whichever process trains it. Without dropout
        # nothing is drawn, so concurrent trainers need not wait for each other.
        rng_devices = [self.device] if self.device.type == "cuda" else []
        seed = self.config.seed + self.steps_done + (i << 32)
        masks = rng.seeded(seed, rng_devices) if self.model.config.dropout > 0 else _NO_DRAWS
        with skip_sync, masks:
            with autocast(self.device):
                _, loss = net(x.to(self.device), y.to(self.device))
            (loss / self.micro_steps if self.micro_steps > 1 else loss).backward()
        return loss.detach()

    def _stack_legacy_moments(self, state: dict) -> dict:
        """Adam's state saved before c_attn, stacked like the weights (see minigpt.legacy)."""
        names = {id(p): n for n, p in self.model.named_parameters()}
        now = [[names[id(p)] for p in g["params"]] for g in self.optimizer.param_groups]
        return stack_legacy_moments(now, state) or state

    @torch.no_grad()
    def _remember(self) -> None:
        for good, p in zip(self._good, self.params, strict=True):
            good.copy_(p)

    @torch.no_grad()
    def _diverged(self, what: str, loss: float, lr: float) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        for good, p in zip(self._good, self.params, strict=True):
            p.copy_(good)
        uniform = math.log(self.model.config.vocab_size)
        raise TrainingDiverged(
            f"training diverged at step {self.steps_done + 1}: {what} (guessing uniformly "
            f"scores {uniform:.2f}). The update was not applied and the weights are back to the "
            f"last step with a sane loss. Try a lower learning rate (this step used {lr:.2g}; "
            "try a third of it) or more warmup steps.",
            step=self.steps_done + 1,
            loss=loss,
        )

    @torch.no_grad()
    def evaluate(self, iters: int | None = None) -> EvalMetrics:
        """Mean loss on train and validation batches, in eval mode (no dropout, no gradients).

        Each evaluation draws the same batches (seeded from cfg.seed), so a change between two
        evaluations comes from the weights, not from which text happened to be picked.
        """
        cfg, rank, world = self.config, self.dist.rank, self.dist.world_size
        iters = iters or cfg.eval_iters
        gen = torch.Generator().manual_seed(cfg.seed + 1)
        was_training = self.model.training
        self.model.eval()
        try:
            totals = [0.0, 0.0]  # train, val
            for s, split in enumerate(("train", "val")):
                for k in range(iters):
                    x, y = self.data.get_batch(split, cfg.batch_size, self.block_size, gen)
                    if k % world == rank:  # each process measures its share of the batches
                        with autocast(self.device):
                            loss = self.model(x.to(self.device), y.to(self.device))[1]
                        totals[s] += loss.item()
        finally:
            self.model.train(was_training)
        if self.dist.is_distributed:
            sums = torch.tensor(totals, dtype=torch.float64, device=self.device)
            totals = self.dist.sum(sums).tolist()
        tl, vl = totals[0] / iters, totals[1] / iters
        metrics = EvalMetrics(self.steps_done, tl, vl, _exp(tl), _exp(vl))
        self.evals.append(metrics)
        return metrics

    def state_dict(self) -> dict[str, Any]:
        """Everything besides the weights needed to resume exactly where this run is."""
        return {
            "steps_done": self.steps_done,
            "elapsed": self.elapsed,
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "history": [dataclasses.asdict(m) for m in self.history],
            "evals": [dataclasses.asdict(m) for m in self.evals],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps_done = int(state["steps_done"])
        self.elapsed = float(state.get("elapsed", 0.0))
        # Refuses moments of another shape than their weight's, in words (a different model).
        self.optimizer.load_state_dict(self._stack_legacy_moments(state["optimizer"]))
        self.generator.set_state(state["generator"])
        self.history = [StepMetrics(**m) for m in state.get("history", [])]
        self.evals = [EvalMetrics(**m) for m in state.get("evals", [])]
        self._remember()


def _exp(x: float) -> float:
    return math.exp(x) if x < 700 else math.inf

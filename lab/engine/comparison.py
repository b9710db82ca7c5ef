"""The compare page's live comparison: every encoding and seed trained in lockstep, then measured.

The experiment itself (same-start models, extrapolation losses) is minigpt/analysis/extrapolation.py;
this drives it as LiveRuns so a page can show it slice by slice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from lab.engine import budget
from lab.engine.costs import Request, costs, size
from lab.engine.liverun import LiveRun
from lab.engine.runspec import RunSpec
from minigpt.analysis.extrapolation import (
    MODES,
    Extrapolation,
    extrapolation_lengths,
    extrapolation_losses,
    same_start_models,
)
from minigpt.config import POS_EMBS, GPTConfig
from minigpt.sampling import SamplingConfig
from minigpt.tokenizers.tokenizer import Tokenizer
from minigpt.training.data import TokenData
from minigpt.training.trainer import TrainConfig

HELD = ("weights", "position tables", "optimizer")  # parts of a run's cost kept between steps
_ONE_TOKEN = SamplingConfig(max_new_tokens=1)  # the run's own sample log, kept to nearly nothing


@dataclass(frozen=True)
class CompareSpec:
    """A comparison: one shape and schedule, several encodings, several seeds.

    model.pos_emb is ignored (each encoding sets its own); model.vocab_size comes from the
    tokenizer when the comparison is built.
    """

    model: GPTConfig
    train: TrainConfig
    encodings: tuple[str, ...] = POS_EMBS
    seeds: tuple[int, ...] = (0,)
    eval_tokens: int = 8_192  # held-out tokens each extrapolation reading averages over

    def run_specs(self, corpus_key: str = "shakespeare") -> list[RunSpec]:
        """One RunSpec per encoding (seeds share a shape), on the character tokenizer."""
        return [
            RunSpec(corpus_key, "char", None, self.model.replace(pos_emb=e), self.train)
            for e in self.encodings
        ]

    def problems(self, text: str) -> list[str]:
        """Every reason this comparison cannot run on text, as sentences (empty when fine):
        each run's own (RunSpec.problems), then all of them held at once against the budget.

        The runs train in turn, so each keeps its weights and optimizer state the whole time
        while only one batch's activations exist at a moment: held parts add up, the rest is
        the largest single run's.
        """
        out: list[str] = []
        for spec in self.run_specs():
            out += [f"{spec.model.pos_emb}: {p}" for p in spec.problems(text)]
        if out:
            return out
        n_vocab, n_runs = len(set(text)), len(self.encodings) * len(self.seeds)
        held, moment = 0, 0
        for spec in self.run_specs():
            parts = costs(Request(spec.model.replace(vocab_size=n_vocab), self.train.batch_size))
            kept = sum(v for k, v in parts.items() if k in HELD)
            held += kept * len(self.seeds)
            moment = max(moment, sum(parts.values()) - kept)
        limit = budget.budget_bytes()
        if held + moment <= limit:
            return []
        fit = int((limit - moment) // max(1, held // n_runs))
        fewer = (
            f"Choose fewer encodings or seeds: about {fit} runs of this size fit"
            if fit >= 1
            else "Choose a smaller preset"
        )
        return [
            f"These {n_runs} runs together need about {size(held + moment)} of memory (each "
            "keeps its model and optimizer while the others train), more than the "
            f"{size(limit)} one request may use on this shared server. {fewer}."
        ]


class LiveComparison:
    """Every (encoding, seed) of a CompareSpec as a LiveRun, trained a slice each in turn.

    Interleaving keeps the comparison fair while it runs (every curve has the same number of
    steps at any moment, and a busy machine slows them all alike). Once training is done,
    `advance` measures extrapolation one model per call, so a caller's slices stay short.
    Example:
        comp = LiveComparison(spec, text, tokenizer, data)
        while not comp.done:
            comp.advance(0.25)
    """

    def __init__(
        self,
        spec: CompareSpec,
        text: str,
        tokenizer: Tokenizer,
        data: TokenData,
        corpus_key: str = "shakespeare",
    ) -> None:
        self.spec = spec
        cfg = spec.model.replace(vocab_size=tokenizer.vocab_size)
        self.lengths = extrapolation_lengths(cfg.block_size)
        self.data = data
        self.runs: dict[tuple[str, int], LiveRun] = {}  # (pos_emb, seed) -> run
        for seed in spec.seeds:
            for pos_emb, model in same_start_models(cfg, spec.encodings, seed).items():
                run_spec = RunSpec(
                    corpus_key, tokenizer.kind, None, model.config, spec.train.replace(seed=seed)
                )
                run = LiveRun(run_spec, text, tokenizer=tokenizer, data=data, model=model)
                # A LiveRun logs samples and head snapshots as it goes; the comparison samples
                # once at the end instead, so it keeps only the run's first and last log.
                run.sample_every = run.snapshot_every = run.max_iters
                # The comparison is one run to the server: its runs share the time cap.
                run.time_limit = budget.MAX_RUN_SECONDS / (len(spec.encodings) * len(spec.seeds))
                self.runs[pos_emb, seed] = run
        self.extrapolation: dict[tuple[str, int], dict[str, Extrapolation]] = {}

    @property
    def steps_done(self) -> int:
        return min(run.steps_done for run in self.runs.values())

    @property
    def max_iters(self) -> int:
        return self.spec.train.max_iters

    @property
    def training_done(self) -> bool:
        return all(run.done for run in self.runs.values())

    @property
    def done(self) -> bool:
        return self.training_done and len(self.extrapolation) == len(self.runs)

    def failures(self) -> dict[tuple[str, int], str]:
        """Runs that stopped early because training diverged, and why."""
        return {key: run.failure for key, run in self.runs.items() if run.failure}

    def advance(self, seconds: float, keep_going: Callable[[], bool] | None = None) -> None:
        """Train the unfinished runs a step each in turn, in lockstep, until `seconds` are spent
        (at least one round) or `keep_going` says no (asked between rounds); once all are
        trained, measure one model per call instead."""
        training = [run for run in self.runs.values() if not run.done]
        if training:
            start = time.perf_counter()
            while True:
                for run in training:
                    run.advance(0.0, _ONE_TOKEN)  # exactly one step (and its evaluation if due)
                training = [run for run in training if not run.done]
                if not training or time.perf_counter() - start >= seconds:
                    return
                if keep_going is not None and not keep_going():
                    return
        for key, run in self.runs.items():
            if key not in self.extrapolation:
                self.extrapolation[key] = {
                    mode: extrapolation_losses(
                        run.model, self.data.val, self.lengths, mode, self.spec.eval_tokens
                    )
                    for mode in MODES
                }
                return

"""The compare page's runs, whichever way they were made, as `Entry`s; and what a fair
comparison holds fixed.

Three kinds of run meet here and are treated alike: the shipped precomputed ones
(assets/compare/results.json), the ones this session trains live, and runs finished on the
training page. Entries with the same `group` (an encoding) are seeds of one setup. No Streamlit.
"""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass, field
from typing import Any

from lab.engine import metrics
from lab.engine.comparison import CompareSpec, LiveComparison
from lab.engine.models import LabModel
from minigpt.analysis.extrapolation import Extrapolation
from minigpt.config import GPTConfig
from minigpt.shapes import count_params
from minigpt.training.trainer import TrainConfig

CURVE_EVERY = 10  # steps per point of a live training curve (a single batch's loss is noisy)

# What the live comparison can train. Both stay far below the shipped run's cost.
LIVE_PRESETS: dict[str, CompareSpec] = {
    "Quick: 1 layer × 32 wide, context 32, 150 steps": CompareSpec(
        GPTConfig(n_layer=1, n_head=4, n_embd=32, block_size=32, scale_embeddings=True),
        TrainConfig(
            batch_size=16,
            max_iters=150,
            learning_rate=3e-3,
            warmup_iters=15,
            eval_interval=50,
            eval_iters=5,
        ),
        eval_tokens=4_096,
    ),
    "The shipped shape: 2 layers × 64 wide, context 64, 300 steps": CompareSpec(
        GPTConfig(n_layer=2, n_head=4, n_embd=64, block_size=64, scale_embeddings=True),
        TrainConfig(
            batch_size=16,
            max_iters=300,
            learning_rate=3e-3,
            warmup_iters=40,
            eval_interval=50,
            eval_iters=10,
        ),
        eval_tokens=16_384,
    ),
}


@dataclass(frozen=True, eq=False)
class Entry:
    """One trained model as the comparison sees it, whichever way it was made."""

    group: str  # seeds of one setup share a group: the encoding, or a training-page run's name
    pos_emb: str
    seed: int | None
    curve: list[dict[str, Any]]  # {"step", "train_loss", "val_loss" (where evaluated)}
    params: int
    seconds_per_step: float | None
    extrapolation: dict[str, Extrapolation] = field(default_factory=dict)  # by reading
    sample: str | None = None
    model: LabModel | None = None  # for fresh samples; None for the shipped results
    imported: bool = False
    steps: int | None = None  # steps it was set to train (the curves' x-axis span)


@dataclass(frozen=True)
class HeldFixed:
    """Everything besides the encoding that a fair comparison must hold fixed."""

    model: GPTConfig
    train: TrainConfig
    tokenizer_kind: str
    corpus_key: str


# Making entries


def shipped_entries(results: dict[str, Any]) -> list[Entry]:
    """The precomputed comparison, one entry per (encoding, seed)."""
    return [
        Entry(
            group=r["pos_emb"],
            pos_emb=r["pos_emb"],
            seed=r["seed"],
            curve=r["curve"],
            params=r["params"],
            seconds_per_step=r["seconds_per_step"],
            extrapolation={m: Extrapolation.from_dict(d) for m, d in r["extrapolation"].items()},
            sample=r["sample"],
            steps=results["train"]["max_iters"],
        )
        for r in results["runs"]
    ]


def shipped_setup(results: dict[str, Any]) -> HeldFixed:
    return HeldFixed(
        GPTConfig.from_dict(results["model"]),
        TrainConfig.from_dict(results["train"]),
        results["tokenizer"],
        results["corpus"],
    )


def live_entries(comp: LiveComparison, key: str) -> list[Entry]:
    """The session's live runs; they carry a LabModel (for samples) once training is done."""
    out = []
    for (pos_emb, seed), run in comp.runs.items():
        history = run.trainer.history
        lab_model = None
        if comp.training_done:
            lab_model = LabModel(f"{pos_emb} (seed {seed})", run.model, run.tokenizer,
                                 key=f"{key}:{pos_emb}:{seed}")  # fmt: skip
        out.append(
            Entry(
                group=pos_emb,
                pos_emb=pos_emb,
                seed=seed,
                curve=metrics.binned(run.metrics_rows(), CURVE_EVERY),
                params=run.model.num_params(),
                seconds_per_step=statistics.median(m.dt for m in history) if history else None,
                extrapolation=comp.extrapolation.get((pos_emb, seed), {}),
                model=lab_model,
                steps=comp.spec.train.max_iters,
            )
        )
    return out


def imported_entry(record: Any, extrapolation: dict[str, Extrapolation]) -> Entry:
    """A run finished on the training page (a lab.engine.runs.RunRecord)."""
    return Entry(
        group=f"{record.name} ({record.config.pos_emb})",
        pos_emb=record.config.pos_emb,
        seed=record.train_config.seed,
        curve=metrics.binned(record.metrics, CURVE_EVERY),
        params=count_params(record.config),
        seconds_per_step=record.seconds_per_step,
        extrapolation=extrapolation,
        sample=record.samples[-1][1] if record.samples else None,
        model=record.model,
        imported=True,
        steps=record.train_config.max_iters,
    )


def record_setup(record: Any) -> HeldFixed:
    return HeldFixed(record.config, record.train_config, record.tokenizer_kind, record.corpus_key)


def differences(reference: HeldFixed, other: HeldFixed) -> list[str]:
    """What, besides the positional encoding, differs between two setups, one phrase each.

    Example: differences(a, dataclasses.replace(a, tokenizer_kind="bpe"))
    == ["tokenizer: bpe (reference: char)"]
    """
    out = []
    for part in ("model", "train"):
        ref, oth = getattr(reference, part), getattr(other, part)
        for f in dataclasses.fields(ref):
            if f.name == "pos_emb":
                continue
            a, b = getattr(ref, f.name), getattr(oth, f.name)
            if a != b:
                out.append(f"{f.name}: {b} (reference: {a})")
    for name, label in (("tokenizer_kind", "tokenizer"), ("corpus_key", "corpus")):
        a, b = getattr(reference, name), getattr(other, name)
        if a != b:
            out.append(f"{label}: {b} (reference: {a})")
    return out

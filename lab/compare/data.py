"""The compare page's numbers: comparisons as rows of numbers, the text they read as, CSVs.

Three kinds of run meet here and are treated alike as `Entry`s: the shipped precomputed ones
(assets/compare/results.json), the ones this session trains live, and runs finished on the
training page. Entries with the same `group` (an encoding) are seeds of one setup: they are
drawn as a mean with the seeds' spread around it. No Streamlit here: lab/compare_ui.py draws.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lab import charts
from lab.engine.comparison import CompareSpec, LiveComparison
from lab.engine.models import LabModel
from minigpt.analysis.extrapolation import (
    MODES,
    Extrapolation,
    holds_until,
    ranking,
    seed_stats,
    value_at,
)
from minigpt.config import GPTConfig
from minigpt.model import count_params
from minigpt.training.trainer import TrainConfig

READINGS = {
    "windows": "Loss over non-overlapping windows of each length",
    "position": "Loss by token position (sliding window)",
}
TOLERANCE = 0.1  # nats above the trained level that count as "breaking down"
SMOOTH = 8  # positions averaged together in the position reading (one token is noisy)
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


@dataclass(frozen=True)
class Setup:
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
        )
        for r in results["runs"]
    ]


def shipped_setup(results: dict[str, Any]) -> Setup:
    return Setup(
        GPTConfig.from_dict(results["model"]),
        TrainConfig.from_dict(results["train"]),
        results["tokenizer"],
        results["corpus"],
    )


def binned(rows: Iterable[dict[str, Any]], every: int = CURVE_EVERY) -> list[dict[str, Any]]:
    """A per-step log as one point per `every` steps: the mean training loss of those steps,
    and the validation loss where an evaluation ran.

    Example: binned([{"step": 1, "train_loss": 2.0}, {"step": 2, "train_loss": 1.0}], 2)
    == [{"step": 2, "train_loss": 1.5}]
    """
    out: list[dict[str, Any]] = []
    pending: list[float] = []
    rows = list(rows)
    for i, row in enumerate(rows):
        if row.get("train_loss") is not None:
            pending.append(row["train_loss"])
        evaluated = row.get("val_loss") is not None
        if pending and (row["step"] % every == 0 or evaluated or i == len(rows) - 1):
            point = {"step": row["step"], "train_loss": statistics.fmean(pending)}
            if evaluated:
                point["val_loss"] = row["val_loss"]
            out.append(point)
            pending = []
    return out


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
                curve=binned(run.metrics_rows()),
                params=run.model.num_params(),
                seconds_per_step=statistics.median(m.dt for m in history) if history else None,
                extrapolation=comp.extrapolation.get((pos_emb, seed), {}),
                model=lab_model,
            )
        )
    return out


def imported_entry(record: Any, extrapolation: dict[str, Extrapolation]) -> Entry:
    """A run finished on the training page (a lab.runs.RunRecord)."""
    return Entry(
        group=f"{record.name} ({record.config.pos_emb})",
        pos_emb=record.config.pos_emb,
        seed=record.train_config.seed,
        curve=binned(record.metrics),
        params=count_params(record.config),
        seconds_per_step=record.seconds_per_step,
        extrapolation=extrapolation,
        sample=record.samples[-1][1] if record.samples else None,
        model=record.model,
        imported=True,
    )


def record_setup(record: Any) -> Setup:
    return Setup(record.config, record.train_config, record.tokenizer_kind, record.corpus_key)


def differences(reference: Setup, other: Setup) -> list[str]:
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


# Series for the charts


def _groups(entries: Sequence[Entry]) -> dict[str, list[Entry]]:
    groups: dict[str, list[Entry]] = {}
    for e in entries:
        groups.setdefault(e.group, []).append(e)
    return groups


def first_of_each(entries: Sequence[Entry]) -> list[Entry]:
    """One entry per group (its first seed), for the samples."""
    return [group[0] for group in _groups(entries).values()]


def _spread(columns: Sequence[Sequence[float | None]]) -> tuple[list, list, list]:
    """Mean, lowest and highest over seeds at each point (None where no seed is defined)."""
    stats = [seed_stats(point) for point in zip(*columns, strict=True)]
    return (
        [s.mean if s else None for s in stats],
        [s.low if s else None for s in stats],
        [s.high if s else None for s in stats],
    )


def _style(group: list[Entry]) -> dict[str, Any]:
    first = group[0]
    return {
        "color": charts.ENCODING_COLORS.get(first.pos_emb, "#9467bd"),
        "dash": "dash" if first.imported else "solid",
        "n": len(group),
    }


def curve_series(entries: Sequence[Entry], perplexity: bool = False) -> dict[str, dict[str, Any]]:
    """Per group: the steps every seed logged, and mean/low/high of train and validation loss."""
    value = (lambda x: math.exp(min(x, 50))) if perplexity else (lambda x: x)
    out = {}
    for name, group in _groups(entries).items():
        series = _style(group)
        for part, key, steps_key in (
            ("train", "train_loss", "steps"),
            ("val", "val_loss", "val_steps"),
        ):
            per_seed = [
                {p["step"]: value(p[key]) for p in e.curve if p.get(key) is not None} for e in group
            ]
            steps = sorted(set.intersection(*(set(s) for s in per_seed))) if per_seed else []
            series[steps_key] = steps
            series[part] = _spread([[s[t] for t in steps] for s in per_seed])
        out[name] = series
    return out


def smoothed(loss: Sequence[float | None], width: int = SMOOTH) -> list[float | None]:
    """Each defined value averaged with its neighbours (width of them in all); None stays None.

    Example: smoothed([1.0, 3.0, 5.0, None], 3) == [2.0, 3.0, 4.0, None]
    """
    out: list[float | None] = []
    half = width // 2
    for i, v in enumerate(loss):
        near = [u for u in loss[max(0, i - half) : i - half + width] if u is not None]
        out.append(None if v is None else statistics.fmean(near or [v]))
    return out


def extrapolation_series(entries: Sequence[Entry], mode: str) -> dict[str, dict[str, Any]]:
    """Per group with a measurement: x, mean/low/high over seeds (None: not defined), limit."""
    out = {}
    for name, group in _groups(entries).items():
        results = [e.extrapolation[mode] for e in group if mode in e.extrapolation]
        if not results or any(r.x != results[0].x for r in results):
            continue
        losses = [smoothed(r.loss) if mode == "position" else r.loss for r in results]
        mean, low, high = _spread(losses)
        out[name] = {**_style(group), "n": len(results), "x": results[0].x, "mean": mean,
                     "low": low, "high": high, "limit": results[0].limit,
                     "train_length": results[0].train_length}  # fmt: skip
    return out


# Reading the numbers


def _fmt(s: Any) -> str:
    return f"{s.mean:.3f} ± {s.sd:.3f}" if s.n > 1 else f"{s.mean:.3f}"


def _chain(order: list[tuple[str, Any]]) -> str:
    """Best first; "≈" where the seeds' ranges overlap, so that step of the order is not settled."""
    text = ""
    for i, (name, s) in enumerate(order):
        if i:
            prev = order[i - 1][1]
            text += " ≈ " if s.low <= prev.high else " < "
        text += f"**{name}** {_fmt(s)}"
    return text


def _mean_over(result: Extrapolation, lo: int, hi: int) -> float | None:
    vals = [v for x, v in zip(result.x, result.loss, strict=True) if lo <= x < hi]
    return statistics.fmean(vals) if vals and None not in vals else None


def ordering_lines(entries: Sequence[Entry], mode: str) -> list[str]:
    """What the measurements say, as sentences computed from them (nothing here is assumed).

    Windows: the ranking at 1, 2 and 4 times the training length. Position: the ranking over
    the second half of the trained positions, positions 1-2x and 2-4x. Then where each group's
    loss first rises more than TOLERANCE nats above its trained level.
    """
    groups = {n: [e.extrapolation[mode] for e in g if mode in e.extrapolation]
              for n, g in _groups(entries).items()}  # fmt: skip
    groups = {n: rs for n, rs in groups.items() if rs}
    if not groups:
        return []
    n = min(rs[0].train_length for rs in groups.values())
    seeds = sorted({len(rs) for rs in groups.values()})
    unit = "seed" if seeds == [1] else "seeds"
    spread = (
        "one seed, so an order between close values may be luck"
        if seeds == [1]
        else "mean ± standard deviation over seeds; **≈** where the seeds' ranges overlap"
    )
    lines = [f"Measured on held-out text, {'/'.join(map(str, seeds))} {unit} per encoding "
             f"({spread}):"]  # fmt: skip
    if mode == "windows":
        spans = [(f"at {f * n} tokens ({f}× the training length)",
                  lambda r, L=f * n: value_at(r, L)) for f in (1, 2, 4)]  # fmt: skip
    else:
        spans = [
            (f"at positions {n // 2}-{n - 1} (trained)", lambda r: _mean_over(r, n // 2, n)),
            (f"at positions {n}-{2 * n - 1} (1-2×)", lambda r: _mean_over(r, n, 2 * n)),
            (f"at positions {2 * n}-{4 * n - 1} (2-4×)", lambda r: _mean_over(r, 2 * n, 4 * n)),
        ]
    for label, read in spans:
        values = {name: [read(r) for r in rs] for name, rs in groups.items()}
        order = ranking(values)
        missing = [name for name in values if name not in dict(order)]
        if not order and not missing:
            continue
        line = f"- {label}: " + (_chain(order) if order else "nothing defined")
        if missing:
            line += f"; not defined for {', '.join(f'**{m}**' for m in missing)}"
        lines.append(line)
    breaks = []
    for name, rs in groups.items():
        mean = Extrapolation(mode, rs[0].x, _spread([r.loss for r in rs])[0], rs[0].tokens,
                             rs[0].train_length, rs[0].limit)  # fmt: skip
        where = holds_until(mean, TOLERANCE)
        longest = max(x for x, v in zip(mean.x, mean.loss, strict=True) if v is not None)
        what = "context" if mode == "windows" else "position"
        if mean.limit is not None and longest < max(mean.x):
            breaks.append(f"**{name}** is not defined past {mean.limit} (its table ends there)")
        elif where is None:
            breaks.append(f"**{name}** never does, up to {what} {longest}")
        else:
            breaks.append(f"**{name}** at {what} {where}")
    level = (
        "its own loss at the training length"
        if mode == "windows"
        else f"its own mean loss at trained positions {n // 2}-{n - 1}"
    )
    lines.append(f"- where each rises more than {TOLERANCE} nats above {level}: "
                 + "; ".join(breaks) + ".")  # fmt: skip
    return lines


def summary_table(entries: Sequence[Entry], baseline: int | None = None) -> pd.DataFrame:
    """One row per group: size, speed, final loss and windowed loss at 1, 2 and 4x."""
    rows = []
    for name, group in _groups(entries).items():
        params = group[0].params
        final = seed_stats([_final_val(e) for e in group])
        speed = seed_stats([e.seconds_per_step for e in group])
        row = {
            "run": name,
            "seeds": len(group),
            "parameters": params,
            "vs no positions": f"{params - baseline:+,}" if baseline is not None else "",
            "ms per step": f"{1000 * speed.mean:.0f}" if speed else "",
            "final validation loss": _fmt(final) if final else "",
        }
        windows = [e.extrapolation["windows"] for e in group if "windows" in e.extrapolation]
        if windows:
            n = windows[0].train_length
            for f in (1, 2, 4):
                s = seed_stats([value_at(r, f * n) for r in windows])
                row[f"loss at {f}× ({f * n})"] = _fmt(s) if s else "not defined"
        rows.append(row)
    return pd.DataFrame(rows)


def _final_val(entry: Entry) -> float | None:
    vals = [p["val_loss"] for p in entry.curve if p.get("val_loss") is not None]
    return vals[-1] if vals else None


# Files


def curves_csv(entries: Sequence[Entry]) -> str:
    """Every curve point of every run, long format (one row per run and step)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["run", "pos_emb", "seed", "step", "train_loss", "val_loss", "train_ppl", "val_ppl"])
    for e in entries:
        for p in e.curve:
            tl, vl = p.get("train_loss"), p.get("val_loss")
            w.writerow([e.group, e.pos_emb, e.seed, p["step"], _num(tl), _num(vl),
                        _num(tl, math.exp), _num(vl, math.exp)])  # fmt: skip
    return out.getvalue()


def extrapolation_csv(entries: Sequence[Entry]) -> str:
    """Every extrapolation point, both readings; an undefined point has an empty loss."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["run", "pos_emb", "seed", "reading", "x", "loss", "defined", "tokens"])
    for e in entries:
        for mode in MODES:
            r = e.extrapolation.get(mode)
            for x, loss, tokens in zip(r.x, r.loss, r.tokens, strict=True) if r else ():
                w.writerow(
                    [e.group, e.pos_emb, e.seed, mode, x, _num(loss), loss is not None, tokens]
                )
    return out.getvalue()


def _num(v: float | None, f: Callable[[float], float] = float) -> str:
    return "" if v is None else f"{f(min(v, 50.0) if f is math.exp else v):.6g}"


def baseline_params(entries: Sequence[Entry]) -> int | None:
    """Parameters of a model without position information, the reference for the extra ones."""
    nones = [e.params for e in entries if e.pos_emb == "none" and not e.imported]
    return nones[0] if nones else None

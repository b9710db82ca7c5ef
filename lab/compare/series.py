"""The compare page's numbers: entries as chart series, the ordering in words and the CSV
downloads (the summary table is lab/compare/table.py's). Seeds of one group are drawn as a mean with their spread around
it. No Streamlit here: lab/compare/results.py draws.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

import pandas as pd

from lab import charts
from lab.compare.entries import Entry
from lab.engine import metrics
from minigpt.analysis.extrapolation import (
    MODES,
    Extrapolation,
    holds_until,
    ranking,
    seed_stats,
    value_at,
)

READINGS = {
    "windows": "Loss over non-overlapping windows of each length",
    "position": "Loss by token position (sliding window)",
}
TOLERANCE = 0.1  # nats above the trained level that count as "breaking down"
SMOOTH = 8  # positions averaged together in the position reading (one token is noisy)
LENGTHS_APART = 2  # runs whose lengths differ more than this share an x-axis in % of training
CAP = 50.0  # nats: exp(50) already says "hopeless", and a larger one overflows a float
# Units and axes


def in_unit(loss: float | None, perplexity: bool) -> float | None:
    """A loss in nats, or its perplexity exp(loss) (capped at CAP nats); None stays None.

    Example: in_unit(math.log(4.0), True) == 4.0
    """
    if loss is None or not perplexity:
        return loss
    return math.exp(min(loss, CAP))


def planned_steps(entry: Entry) -> int:
    """How many steps the run was set to train (its last logged step if that is unknown)."""
    return entry.steps or max((p["step"] for p in entry.curve), default=1) or 1


def by_share(entries: Sequence[Entry]) -> bool:
    """Whether runs differ so much in length (more than LENGTHS_APART times) that the curves
    read better against the share of each run's own training than against the step.

    Example: runs of 150 and 1500 steps -> True; 150 and 300 -> False.
    """
    lengths = [planned_steps(e) for e in entries]
    return bool(lengths) and max(lengths) > LENGTHS_APART * min(lengths)


def x_span(entries: Sequence[Entry]) -> tuple[float, float]:
    """The curves' x-axis range, fixed by the planned lengths (not the steps done so far), so a
    live chart does not rescale at every slice."""
    if by_share(entries):
        return (0.0, 100.0)
    return (0.0, float(max((planned_steps(e) for e in entries), default=1)))


# Series for the charts


def by_group(entries: Sequence[Entry]) -> dict[str, list[Entry]]:
    """Entries by group (seeds of one setup), in first-seen order."""
    groups: dict[str, list[Entry]] = {}
    for e in entries:
        groups.setdefault(e.group, []).append(e)
    return groups


def first_of_each(entries: Sequence[Entry]) -> list[Entry]:
    """One entry per group (its first seed), for the samples."""
    return [group[0] for group in by_group(entries).values()]


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
    """Per group: the steps every seed logged, and mean/low/high of train and validation loss
    (or perplexity). When runs differ much in length (`by_share`) the steps become percent of
    each run's planned training, so a short run is not squeezed into a corner."""
    share = by_share(entries)
    out = {}
    for name, group in by_group(entries).items():
        series = _style(group)
        scale = 100 / planned_steps(group[0]) if share else 1
        for part, key, steps_key in (
            ("train", "train_loss", "steps"),
            ("val", "val_loss", "val_steps"),
        ):
            per_seed = [
                {p["step"]: in_unit(p[key], perplexity) for p in e.curve if p.get(key) is not None}
                for e in group
            ]
            steps = sorted(set.intersection(*(set(s) for s in per_seed))) if per_seed else []
            series[steps_key] = [t * scale for t in steps] if share else steps
            series[part] = _spread([[s[t] for t in steps] for s in per_seed])
        out[name] = series
    return out


def extrapolation_series(
    entries: Sequence[Entry], mode: str, perplexity: bool = False
) -> dict[str, dict[str, Any]]:
    """Per group with a measurement: x, mean/low/high over seeds (None: not defined), limit;
    in loss or perplexity (smoothed in loss, then converted)."""
    out = {}
    for name, group in by_group(entries).items():
        results = [e.extrapolation[mode] for e in group if mode in e.extrapolation]
        if not results or any(r.x != results[0].x for r in results):
            continue
        losses = [
            [
                in_unit(v, perplexity)
                for v in (metrics.smoothed(r.loss, SMOOTH) if mode == "position" else r.loss)
            ]
            for r in results
        ]
        mean, low, high = _spread(losses)
        out[name] = {**_style(group), "n": len(results), "x": results[0].x, "mean": mean,
                     "low": low, "high": high, "limit": results[0].limit,
                     "train_length": results[0].train_length}  # fmt: skip
    return out


# Reading the numbers


def fmt_stats(s: Any, perplexity: bool = False) -> str:
    """A value over seeds as text: "2.471 ± 0.018" (loss) or "11.83 ± 0.21" (perplexity)."""
    f = ".2f" if perplexity else ".3f"
    return f"{s.mean:{f}} ± {s.sd:{f}}" if s.n > 1 else f"{s.mean:{f}}"


def _chain(order: list[tuple[str, Any]], perplexity: bool = False) -> str:
    """Best first; "≈" where the seeds' ranges overlap, so that step of the order is not settled."""
    text = ""
    for i, (name, s) in enumerate(order):
        if i:
            prev = order[i - 1][1]
            text += " ≈ " if s.low <= prev.high else " < "
        text += f"**{name}** {fmt_stats(s, perplexity)}"
    return text


def _mean_over(result: Extrapolation, lo: int, hi: int) -> float | None:
    vals = [v for x, v in zip(result.x, result.loss, strict=True) if lo <= x < hi]
    return statistics.fmean(vals) if vals and None not in vals else None


def ordering_lines(entries: Sequence[Entry], mode: str, perplexity: bool = False) -> list[str]:
    """What the measurements say, as sentences computed from them (nothing here is assumed),
    with the values in loss or perplexity (the order is the same: exp is increasing).

    Windows: the ranking at 1, 2 and 4 times the training length. Position: the ranking over
    the second half of the trained positions, positions 1-2x and 2-4x. Then where each group's
    loss first rises more than TOLERANCE nats above its trained level.
    """
    groups = {n: [e.extrapolation[mode] for e in g if mode in e.extrapolation]
              for n, g in by_group(entries).items()}  # fmt: skip
    groups = {n: rs for n, rs in groups.items() if rs}
    if not groups:
        return []
    n = min(rs[0].train_length for rs in groups.values())
    seeds = sorted({len(rs) for rs in groups.values()})
    unit = "seed" if seeds == [1] else "seeds"
    measure = "perplexity" if perplexity else "loss"
    spread = (
        "one seed, so an order between close values may be luck"
        if seeds == [1]
        else "mean ± standard deviation over seeds; **≈** where the seeds' ranges overlap"
    )
    lines = [f"Measured on held-out text, {'/'.join(map(str, seeds))} {unit} per encoding, "
             f"in {measure} ({spread}):"]  # fmt: skip
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
        values = {name: [in_unit(read(r), perplexity) for r in rs] for name, rs in groups.items()}
        order = ranking(values)
        missing = [name for name in values if name not in dict(order)]
        if not order and not missing:
            continue
        line = f"- {label}: " + (_chain(order, perplexity) if order else "nothing defined")
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
        f"its own {measure} at the training length"
        if mode == "windows"
        else f"its own mean {measure} at trained positions {n // 2}-{n - 1}"
    )
    rise = (
        f"each one's perplexity rises more than {100 * (math.exp(TOLERANCE) - 1):.0f}% "
        f"({TOLERANCE} nats of loss)"
        if perplexity
        else f"each rises more than {TOLERANCE} nats"
    )
    lines.append(f"- where {rise} above {level}: " + "; ".join(breaks) + ".")
    return lines


# Files


def curves_csv(entries: Sequence[Entry]) -> str:
    """Every curve point of every run, long format (one row per run and step)."""
    frame = pd.DataFrame(
        [
            {"run": e.group, "pos_emb": e.pos_emb, "seed": e.seed, **point}
            for e in entries
            for point in e.curve
        ],
        columns=["run", "pos_emb", "seed", "step", "train_loss", "val_loss"],
    )
    for part in ("train", "val"):  # capped: exp(50) already says "hopeless"
        frame[f"{part}_ppl"] = frame[f"{part}_loss"].astype(float).clip(upper=50.0).map(math.exp)
    return metrics.to_csv(frame.astype({"seed": "Int64"}))


def extrapolation_csv(entries: Sequence[Entry]) -> str:
    """Every extrapolation point, both readings; an undefined point has an empty loss."""
    frame = pd.DataFrame(
        [
            {
                "run": e.group,
                "pos_emb": e.pos_emb,
                "seed": e.seed,
                "reading": mode,
                "x": x,
                "loss": loss,
                "defined": loss is not None,
                "tokens": tokens,
            }
            for e in entries
            for mode, r in ((m, e.extrapolation.get(m)) for m in MODES)
            if r is not None
            for x, loss, tokens in zip(r.x, r.loss, r.tokens, strict=True)
        ],
        columns=["run", "pos_emb", "seed", "reading", "x", "loss", "defined", "tokens"],
    )
    return metrics.to_csv(frame.astype({"seed": "Int64", "loss": float}))

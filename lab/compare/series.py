"""The compare page's numbers: entries as chart series, the ordering in words, the summary
table and the CSV downloads. Seeds of one group are drawn as a mean with their spread around
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


def extrapolation_series(entries: Sequence[Entry], mode: str) -> dict[str, dict[str, Any]]:
    """Per group with a measurement: x, mean/low/high over seeds (None: not defined), limit."""
    out = {}
    for name, group in _groups(entries).items():
        results = [e.extrapolation[mode] for e in group if mode in e.extrapolation]
        if not results or any(r.x != results[0].x for r in results):
            continue
        losses = [
            metrics.smoothed(r.loss, SMOOTH) if mode == "position" else r.loss for r in results
        ]
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


def baseline_params(entries: Sequence[Entry]) -> int | None:
    """Parameters of a model without position information, the reference for the extra ones."""
    nones = [e.params for e in entries if e.pos_emb == "none" and not e.imported]
    return nones[0] if nones else None

"""One metrics table for every run the lab shows: a live run, a checkpoint, the shipped model.

The core logs two lists (`Trainer.history`, one entry per step, and `Trainer.evals`, one per
evaluation); checkpoints and metrics.json store the same two lists as dicts. Here they are
joined on the step, once, into rows with every column of COLUMNS; everything else a page shows
of a run's numbers comes from those rows: the charts, the compare page's binned curves, the
pandas table behind the CSV downloads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

# Column -> what it measures. train_loss is one step's batch; eval_train_loss and val_loss are
# means over eval_iters batches, so those two compare with each other.
COLUMNS = {
    "step": "updates done",
    "train_loss": "loss on the step's training batch (nats)",
    "lr": "learning rate",
    "grad_norm": "gradient norm before clipping",
    "tokens_per_s": "training speed",
    "elapsed": "seconds spent training so far",
    "val_loss": "held-out loss, mean over eval batches (nats)",
    "eval_train_loss": "training loss, mean over eval batches (nats)",
    "val_ppl": "exp(val_loss)",
    "train_ppl": "exp(eval_train_loss)",
}


def run_rows(history: Iterable[Any], evals: Iterable[Any]) -> list[dict[str, Any]]:
    """Per-step history and evaluations (dataclasses or their dicts) joined on the step, as
    rows with every column of COLUMNS (None where a row has no value), sorted by step.

    A plain join rather than a DataFrame merge: the live page rebuilds these rows twice a
    second, and the merge took 30x longer (benchmarks/RESULTS.md, "Why the code is so").
    An evaluation with no step in the history (a weights-only resume) still gets its row.
    Example: run_rows([{"step": 1, "loss": 2.0}], [{"step": 1, "val_loss": 2.5}])[0]["val_loss"]
    == 2.5
    """
    by_step: dict[int, dict[str, Any]] = {}
    for m in history:
        d = _as_dict(m)
        by_step[d["step"]] = {
            "step": d["step"],
            "train_loss": d.get("loss"),
            "lr": d.get("lr"),
            "grad_norm": d.get("grad_norm"),
            "tokens_per_s": d.get("tokens_per_s"),
            "elapsed": d.get("elapsed"),
            "val_loss": None,
            "eval_train_loss": None,
            "val_ppl": None,
            "train_ppl": None,
        }
    for e in evals:
        d = _as_dict(e)
        row = by_step.setdefault(d["step"], {**dict.fromkeys(COLUMNS), "step": d["step"]})
        row["val_loss"], row["eval_train_loss"] = d.get("val_loss"), d.get("train_loss")
        row["val_ppl"], row["train_ppl"] = d.get("val_ppl"), d.get("train_ppl")
    return [by_step[step] for step in sorted(by_step)]


def saved_rows(metrics: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The rows of a checkpoint's or metrics.json's {"history": [...], "evals": [...]}."""
    return run_rows(metrics.get("history", []), metrics.get("evals", []))


def table(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Rows as the metrics table, every column in COLUMNS' order (for files and summaries)."""
    return pd.DataFrame(list(rows), columns=list(COLUMNS)).astype({"step": "int64"})


def to_csv(frame: pd.DataFrame) -> str:
    """A table as CSV text for a download (empty cells where a value is undefined)."""
    return frame.to_csv(index=False, float_format="%.6g")


def binned(rows: Sequence[dict[str, Any]], every: int) -> list[dict[str, Any]]:
    """A per-step log as one point per `every` steps: the mean training loss of those steps,
    and the validation loss where an evaluation ran (a point also ends at each evaluation and
    at the last row, so no evaluation and no final steps are lost).

    numpy rather than a pandas groupby: the live comparison bins every run on every redraw,
    and the groupby cost 200x more on a 300-step run.
    Example: binned([{"step": 1, "train_loss": 2.0}, {"step": 2, "train_loss": 1.0}], 2)
    == [{"step": 2, "train_loss": 1.5}]
    """
    if not rows:
        return []
    steps = np.array([r["step"] for r in rows])
    train = np.array([_nan(r.get("train_loss")) for r in rows])
    val = np.array([_nan(r.get("val_loss")) for r in rows])
    ends = (steps % every == 0) | ~np.isnan(val)
    ends[-1] = True
    last = np.flatnonzero(ends)  # (points,) the row each point ends at
    point_of = np.searchsorted(last, np.arange(len(rows)))  # (rows,) the point a row joins
    has = ~np.isnan(train)
    total = np.bincount(point_of[has], weights=train[has], minlength=len(last))
    count = np.bincount(point_of[has], minlength=len(last))
    out = []
    for k, end in enumerate(last):
        if count[k]:  # a point with no training step in it is left out
            point = {"step": int(steps[end]), "train_loss": float(total[k] / count[k])}
            if not np.isnan(val[end]):
                point["val_loss"] = float(val[end])
            out.append(point)
    return out


def smoothed(values: Sequence[float | None], width: int) -> list[float | None]:
    """Each defined value averaged with its neighbours (width of them in all, centred); an
    undefined value (None) stays undefined and is left out of its neighbours' means.

    Example: smoothed([1.0, 3.0, 5.0, None], 3) == [2.0, 3.0, 4.0, None]
    """
    s = pd.Series(values, dtype=float)
    mean = s.rolling(width, center=True, min_periods=1).mean().where(s.notna())
    return [None if pd.isna(v) else float(v) for v in mean]


def _as_dict(m: Any) -> dict[str, Any]:
    # A dataclass's own __dict__, not dataclasses.asdict: the fields are numbers, and asdict's
    # deep copies made a long run's rows several times slower.
    return m if isinstance(m, dict) else m.__dict__


def _nan(v: float | None) -> float:
    return float("nan") if v is None else v

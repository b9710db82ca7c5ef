"""One metrics table for every run the lab shows: a live run, a checkpoint, the shipped model.

The core logs two lists (`Trainer.history`, one entry per step, and `Trainer.evals`, one per
evaluation); checkpoints and metrics.json store the same two lists as dicts. Here they become
one pandas table, joined on the step, and every view of a run's numbers comes from it: the
chart rows, the compare page's binned curves, the smoothed extrapolation, the CSV downloads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

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


def table(history: Iterable[Any], evals: Iterable[Any]) -> pd.DataFrame:
    """Per-step history and evaluations (dataclasses or their dicts) joined on the step.

    An evaluation with no step in the history (a weights-only resume) still gets its row.
    Example: table([{"step": 1, "loss": 2.0}], [{"step": 1, "val_loss": 2.5}]).val_loss[0] == 2.5
    """
    steps = pd.DataFrame([_as_dict(m) for m in history]).rename(columns={"loss": "train_loss"})
    checks = pd.DataFrame([_as_dict(e) for e in evals]).rename(
        columns={"train_loss": "eval_train_loss"}
    )
    frames = [f for f in (steps, checks) if "step" in f]
    if not frames:
        return pd.DataFrame(columns=list(COLUMNS))
    joined = frames[0] if len(frames) == 1 else steps.merge(checks, on="step", how="outer")
    joined = joined.reindex(columns=list(COLUMNS)).sort_values("step", kind="stable")
    return joined.astype({"step": "int64"}).reset_index(drop=True)


def saved_table(metrics: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    """The table of a checkpoint's or metrics.json's {"history": [...], "evals": [...]}."""
    return table(metrics.get("history", []), metrics.get("evals", []))


def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The table as chart rows: plain Python numbers, None where a column has no value.

    Example: rows(table([{"step": 1, "loss": 2.0}], []))[0]["val_loss"] is None
    """
    clean = frame.astype(object).where(frame.notna(), None)
    return [{k: _plain(v) for k, v in r.items()} for r in clean.to_dict("records")]


def binned(run_rows: Sequence[dict[str, Any]], every: int) -> list[dict[str, Any]]:
    """A per-step log as one point per `every` steps: the mean training loss of those steps,
    and the validation loss where an evaluation ran (a point also ends at each evaluation and
    at the last row, so no evaluation and no final steps are lost).

    Example: binned([{"step": 1, "train_loss": 2.0}, {"step": 2, "train_loss": 1.0}], 2)
    == [{"step": 2, "train_loss": 1.5}]
    """
    frame = pd.DataFrame(list(run_rows)).reindex(columns=["step", "train_loss", "val_loss"])
    if frame.empty:
        return []
    frame = frame.astype({"train_loss": float, "val_loss": float})
    ends = (frame["step"] % every == 0) | frame["val_loss"].notna()
    ends.iloc[-1] = True
    bin_id = ends.shift(fill_value=False).cumsum()  # a bin runs up to and including its end
    points = frame.groupby(bin_id).agg(
        step=("step", "last"), train_loss=("train_loss", "mean"), val_loss=("val_loss", "last")
    )
    points = points[points["train_loss"].notna()]  # a bin with no training step has no point
    out = []
    for step, train, val in points.itertuples(index=False):
        point = {"step": int(step), "train_loss": float(train)}
        if pd.notna(val):
            point["val_loss"] = float(val)
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


def to_csv(frame: pd.DataFrame) -> str:
    """A table as CSV text for a download (empty cells where a value is undefined)."""
    return frame.to_csv(index=False, float_format="%.6g")


def _as_dict(m: Any) -> dict[str, Any]:
    return dataclasses.asdict(m) if dataclasses.is_dataclass(m) else dict(m)


def _plain(v: Any) -> Any:
    """numpy scalars as Python numbers, so rows serialise to JSON for the charts."""
    return v.item() if hasattr(v, "item") else v

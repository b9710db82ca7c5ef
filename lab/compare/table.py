"""The compare page's table of numbers: one row per run group, short headers that fit a
projector, a dash (never None) where there is no number, and a tooltip per column saying what
it holds. No Streamlit here: lab/compare/results.py draws it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lab.compare.entries import Entry
from lab.compare.series import by_group, fmt_stats, in_unit
from minigpt.analysis.extrapolation import seed_stats, value_at

DASH = "—"  # a table cell with no number
UNDEFINED = (
    f"{DASH}: not defined: a learned table has no row past its length, so the model cannot "
    "read that far (or the run was not measured on held-out Shakespeare)."
)


def summary_table(
    entries: Sequence[Entry], baseline: int | None = None, perplexity: bool = False
) -> tuple[pd.DataFrame, dict[str, str]]:
    """One row per group: size, speed, final validation loss (or perplexity) and the windowed
    one at 1, 2 and 4x the training length; and what each column holds, for its tooltip.

    Headers stay short (they must fit a projector); a cell with no number holds DASH, never
    None: the tooltip says why.
    """
    unit = "perplexity" if perplexity else "loss"
    short = "ppl" if perplexity else "loss"
    helps = {
        "seeds": "Runs of this setup, each from its own random start.",
        "parameters": "Weights in the model.",
        "vs none": "Parameters beyond a model with no position information: a learned table "
        "adds context × width, the other encodings none.",
        "ms/step": "Median milliseconds per training step.",
        f"val {short}": f"Validation {unit} at the last evaluation (mean ± sd over seeds).",
    }
    rows = []
    for name, group in by_group(entries).items():
        params = group[0].params
        final = seed_stats([in_unit(_final_val(e), perplexity) for e in group])
        speed = seed_stats([e.seconds_per_step for e in group])
        row = {
            "run": name,
            "seeds": len(group),
            "parameters": f"{params:,}",
            "vs none": f"{params - baseline:+,}" if baseline is not None else DASH,
            "ms/step": f"{1000 * speed.mean:.0f}" if speed else DASH,
            f"val {short}": fmt_stats(final, perplexity) if final else DASH,
        }
        windows = [e.extrapolation["windows"] for e in group if "windows" in e.extrapolation]
        if windows:
            n = windows[0].train_length
            for f in (1, 2, 4):
                s = seed_stats([in_unit(value_at(r, f * n), perplexity) for r in windows])
                column = f"{f}× ({f * n})"
                row[column] = fmt_stats(s, perplexity) if s else DASH
                helps[column] = (
                    f"Held-out {unit} over windows of {f * n} tokens, {f}× the training "
                    f"length. {UNDEFINED}"
                )
        rows.append(row)
    frame = pd.DataFrame(rows).fillna(DASH)  # a run without a column (never measured): a dash
    return frame, {c: h for c, h in helps.items() if c in frame.columns}


def _final_val(entry: Entry) -> float | None:
    vals = [p["val_loss"] for p in entry.curve if p.get("val_loss") is not None]
    return vals[-1] if vals else None


def baseline_params(entries: Sequence[Entry]) -> int | None:
    """Parameters of a model without position information, the reference for the extra ones."""
    nones = [e.params for e in entries if e.pos_emb == "none" and not e.imported]
    return nones[0] if nones else None

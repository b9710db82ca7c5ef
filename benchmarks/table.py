"""Rows of results and the one table they print as; plus the alternating timer every row uses.

Every figure is a ratio against a reference measured in the same process and run, because
this machine is shared: a slow minute slows both sides alike. Timings alternate between ours
and the reference in short blocks, and the medians are quoted.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One line of the table. `better` says which way is good: "higher" (tokens/s) or "lower"
    (seconds, MB); `ratio` is then how many times better ours is than the reference.

    Rows without a reference (page times, memory) leave `ref` None and meet an absolute `limit`.
    """

    name: str
    ours: float | None
    unit: str
    ref: float | None = None
    ref_name: str = ""
    better: str = "higher"  # "higher" | "lower"
    target_ratio: float | None = None  # ours must be at least this many times better
    limit: float | None = None  # or: ours must be under (lower) / over (higher) this value
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.ref is None or self.ours == 0 or self.ref == 0:
            return None
        return self.ours / self.ref if self.better == "higher" else self.ref / self.ours

    @property
    def target(self) -> str:
        if self.target_ratio is not None:
            return f"≥ {self.target_ratio:g}x"
        if self.limit is not None:
            return f"{'<' if self.better == 'lower' else '>'} {self.limit:g} {self.unit}"
        return "report"

    @property
    def met(self) -> bool | None:
        """True/False against the target; None when there is no target or no figure."""
        if self.target_ratio is not None:
            return None if self.ratio is None else self.ratio >= self.target_ratio
        if self.limit is not None and self.ours is not None:
            return self.ours < self.limit if self.better == "lower" else self.ours > self.limit
        return None


def fmt(x: float | None) -> str:
    """A figure with about three significant digits. Example: fmt(1234.5) == '1,234'."""
    if x is None:
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_table(rows: list[Row]) -> str:
    """A Markdown table: what, ours, the reference, ratio, target, met, note."""
    head = ["benchmark", "ours", "reference", "ratio", "target", "met", "note"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ours = f"{fmt(r.ours)} {r.unit}" if r.ours is not None else "—"
        ref = f"{fmt(r.ref)} {r.unit}" if r.ref is not None else "—"
        if r.ref_name and r.ref is not None:
            ref += f" ({r.ref_name})"
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "—"
        met = {True: "yes", False: "**no**", None: ""}[r.met]
        cells = [r.name, ours, ref, ratio, r.target, met, r.note]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def alternate(
    fns: dict[str, Callable[[], object]],
    blocks: int,
    per_block: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, list[float]]:
    """Seconds per call of each function, timed in turns: A's block, B's block, A's, ...

    Each block calls one function per_block times; the result lists one figure per block.
    `clock=time.thread_time` counts only this thread's CPU seconds: on a shared machine the
    time other jobs hold the core then counts against neither side (valid only when all the
    work runs on this thread, as torch's does at one thread).
    Example: alternate({"a": f, "b": g}, blocks=5)["a"] has 5 entries.
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(blocks):
        order = list(fns.items())
        if i % 2:  # swap the order each round, so neither side always runs right after the other
            order.reverse()
        for name, fn in order:
            start = clock()
            for _ in range(per_block):
                fn()
            times[name].append((clock() - start) / per_block)
    return times


def ratio_spread(ours: list[float], ref: list[float]) -> tuple[float, float, float]:
    """Each round's ref / ours time (above 1: ours faster): lower quartile, median, upper quartile.

    The rounds pair up blocks timed back to back, so a slow minute moves both halves of a ratio.
    Example: ratio_spread([1.0, 2.0, 1.0], [2.0, 4.0, 1.0]) == (1.5, 2.0, 2.0)
    """
    ratios = [r / o for o, r in zip(ours, ref, strict=True)]
    if len(ratios) < 2:
        return ratios[0], ratios[0], ratios[0]
    q1, q2, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return q1, q2, q3


def median(xs: list[float]) -> float:
    return statistics.median(xs)

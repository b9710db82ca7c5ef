"""The Next token page's interactions, timed under AppTest like benchmarks/pages.py: a sidebar
slider move (only the stages are redone: the logits and both linked views come from the
cache), one step (a new position: logits, colours, lens), a new prompt, and surprise over a
new text of the page's maximum length. Each is the median of several, all on distinct inputs
where a cache would otherwise answer."""

from __future__ import annotations

import time
from collections.abc import Callable

from benchmarks.table import Row, median

LIMIT = 0.5  # seconds: a slider move must redraw within this (the figure)


def _timed(at) -> float:
    start = time.perf_counter()
    at.run()
    return time.perf_counter() - start


def run(text: str | None, repeats: int, fresh: Callable, log: Callable[[str], None]) -> list[Row]:
    """Rows for the page's interactions; `fresh(page)` opens a new session on the page."""
    from lab import state
    from lab.next_token import state as nt

    at, _ = fresh("next_token")
    n = max(repeats, 3)
    problems: list[str] = []

    def measure(change: Callable[[int], None]) -> float:
        times = []
        for i in range(n):
            change(i)
            times.append(_timed(at))
            problems.extend(str(e.value) for e in at.exception)
        return median(times)

    def temperature(i: int) -> None:
        at.slider(key=state.TEMPERATURE).set_value([0.5, 1.2, 0.9, 1.5, 0.7][i % 5])

    def top_p(i: int) -> None:
        at.slider(key=state.TOP_P).set_value([0.5, 0.8, 0.9, 0.6, 0.7][i % 5])

    def take(i: int) -> None:
        at.button(key=nt.TAKE).click()

    def prompt(i: int) -> None:
        at.text_area(key=nt.PROMPT).set_value(f"{i}: " + nt.DEFAULT_PROMPT)

    source = text or nt.EXAMPLES["A Shakespeare passage"] * 20

    def surprise_text(i: int) -> None:
        start = 10_000 + 7_000 * i
        at.text_area(key=nt.TEXT).set_value(source[start : start + nt.MAX_TEXT_CHARS])

    cases = [
        ("sidebar temperature slider (the stages redrawn)", temperature, LIMIT),
        ("sidebar top-p slider (the cut redrawn)", top_p, LIMIT),
        ("one step: take the sampled token (distribution, colours, lens)", take, None),
        ("new prompt (distribution, colours, logit lens)", prompt, None),
        (f"surprise over a new {nt.MAX_TEXT_CHARS:,}-character text", surprise_text, None),
    ]
    rows = []
    for what, change, limit in cases:
        seconds = measure(change)
        log(f"pages: next_token {what} {seconds:.3f} s")
        note = f"median of {n}"
        if problems:
            note += "; EXCEPTION: " + "; ".join(problems)[:120]
        rows.append(
            Row(f"Page next_token: {what}", seconds, "s", better="lower", limit=limit, note=note)
        )
    return rows

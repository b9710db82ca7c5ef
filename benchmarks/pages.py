"""Page speed under Streamlit's AppTest: each page's first run in a fresh session, and one
interaction (median of 5); the attention page on texts of 64 and 256 characters.

The page list comes from the router (lab/app.py), so a page added there is measured too: with
its own interaction below if it has one, else by changing its first main-area widget.
AppTest runs the script in this process without a browser, so these times are the server's
share of a rerun (no network, no drawing).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.table import Row, median
from lab.catalog import CATALOG

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "lab" / "app.py"
TIMEOUT = 180  # a cold model load on a busy machine
INTERACTION_LIMIT = 0.5  # seconds, after the first load


def page_names() -> list[str]:
    """The pages the router registers, in its order. Example: "home" in page_names()."""
    return [page.name for page in CATALOG]


def _timed_run(at) -> float:
    start = time.perf_counter()
    at.run()
    return time.perf_counter() - start


# name -> (what the interaction is, how the i-th one is made): each makes a real change.
def _interactions() -> dict[str, tuple[str, Callable[[object, int], None]]]:
    # Imported where used: lab's state modules import Streamlit, which the first (cold) page
    # run should be the one to pay for.
    from lab import state
    from lab.attention import state as attn_state
    from lab.compare import state as cmp_state
    from lab.positional import state as pos_state
    from lab.tokenizers import state as tok_state
    from lab.training import state as train_state

    def slider(key: str, values: list) -> Callable[[object, int], None]:
        return lambda at, i: at.slider(key=key).set_value(values[i % len(values)])

    def radio(key: str, values: list) -> Callable[[object, int], None]:
        # AppTest's radio takes the option itself (not its label), so the values are given.
        return lambda at, i: at.radio(key=key).set_value(values[i % len(values)])

    return {
        "home": (
            "sidebar temperature (new sample)",
            slider(state.TEMPERATURE, [0.5, 0.6, 0.7, 0.9, 1.0, 1.1]),
        ),
        "tokenizers": (
            "Next merge button",
            lambda at, i: at.button(key=tok_state.TOK_NEXT).click(),
        ),
        "positional": ("positions slider", slider(pos_state.POS_N, [16, 24, 32, 40, 48, 56])),
        "attention": ("head radio", radio(attn_state.ATTN_HEAD, [1, 0])),
        "training": (
            "steps number input",
            lambda at, i: at.number_input(key=train_state.TRAIN_STEPS).set_value(600 + 100 * i),
        ),
        "compare": ("loss/perplexity radio", radio(cmp_state.CMP_METRIC, ["perplexity", "loss"])),
    }


def _generic(at, i: int) -> None:
    """Change the first widget of the main area that we know how to change."""
    main = at.main
    if len(main.selectbox):
        w = main.selectbox[0]
        w.select_index((i + 1) % len(w.options))
        return
    if len(main.slider):
        w = main.slider[0]
        w.set_value(w.min if i % 2 == 0 else w.max)
        return
    if len(main.button):
        main.button[0].click()


def _errors(at) -> list[str]:
    return [str(e.value) for e in at.exception]


def _fresh(page: str):
    """A new session through the router, switched to the page; returns it and the page's run time."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    first = _timed_run(at)
    if page == "home":
        return at, first
    at.switch_page(f"../pages/{page}.py")
    return at, _timed_run(at)


def run(text: str, quick: bool, log: Callable[[str], None]) -> list[Row]:
    repeats = 2 if quick else 5
    rows: list[Row] = []
    start = time.perf_counter()
    _, cold = _fresh("home")  # imports streamlit's testing, plotly, the shipped model
    rows.append(
        Row(
            "App cold start (router + home, first session in this process)",
            cold,
            "s",
            better="lower",
            note="includes imports and the shipped model's load",
        )
    )
    log(f"pages: cold start {cold:.2f} s")
    interactions = _interactions()
    for page in page_names():
        at, first = _fresh(page)
        problems = _errors(at)
        what, change = interactions.get(page, ("first main-area widget", _generic))
        times = []
        for i in range(repeats):
            change(at, i)
            times.append(_timed_run(at))
        problems += _errors(at)
        log(f"pages: {page} first {first:.2f} s, {what} {median(times):.3f} s")
        note = "; ".join(problems)[:120] if problems else ""
        rows.append(
            Row(
                f"Page {page}: first run in a new session",
                first,
                "s",
                better="lower",
                note=("EXCEPTION: " + note) if note else "",
            )
        )
        rows.append(
            Row(
                f"Page {page}: {what}",
                median(times),
                "s",
                better="lower",
                limit=INTERACTION_LIMIT,
                note=f"median of {repeats}" + (f"; EXCEPTION: {note}" if note else ""),
            )
        )
    rows += _attention_lengths(text, repeats, log)
    if "next_token" in page_names():
        from benchmarks import next_token

        rows += next_token.run(text, repeats, _fresh, log)
    log(f"pages: {time.perf_counter() - start:.0f} s in all")
    return rows


def _attention_lengths(text: str, repeats: int, log: Callable[[str], None]) -> list[Row]:
    """The attention page redrawn for new text of n characters: distinct texts, so no cache hit."""
    from lab.attention import state as attn_state

    if "attention" not in page_names():
        return []
    at, _ = _fresh("attention")
    rows = []
    for n in (64, 256):
        times = []
        for i in range(repeats):
            offset = 5_000 + 3_000 * i + n  # different lines of the play each time
            at.text_area(key=attn_state.ATTN_TEXT).set_value(text[offset : offset + n])
            times.append(_timed_run(at))
        shown = at.code[0].value.count(" ") + 1 if len(at.code) else 0
        cropped = len(at.warning) > 0
        note = f"median of {repeats}; the model read {shown} tokens" + (
            " (cropped to its context)" if cropped else ""
        )
        errs = _errors(at)
        if errs:
            note += "; EXCEPTION: " + "; ".join(errs)[:120]
        log(f"pages: attention {n} chars {median(times):.3f} s, {shown} tokens")
        rows.append(
            Row(
                f"Page attention: new text of {n} characters",
                median(times),
                "s",
                better="lower",
                limit=INTERACTION_LIMIT,
                note=note,
            )
        )
    return rows

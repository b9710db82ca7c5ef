"""Hostile input, one table per page: everything a student can type, paste, pick or upload that
the lab cannot use gets a message in words (st.error, st.warning or st.info), never a traceback,
and the session stays usable: the next ordinary interaction on the same page works.

Each page is opened once (module fixtures in the test_hostile_<page>.py files) and every row runs
in that same session, followed by the page's ordinary interaction, so a row that left the session
broken fails the next check. The server refuses uploads over .streamlit/config.toml's
maxUploadSize before the app sees them; AppTest has no server, so here a 20 MB file reaches the
page's own check, and the browser test tests/e2e/test_uploads.py covers Streamlit's refusal.
This module holds what those files share: the row, its check, and the files they upload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streamlit.testing.v1 import AppTest

from tests.apptest import TIMEOUT, errors


@dataclass(frozen=True)
class Row:
    """One hostile input: what it does to the page, and the message (kind, words) it must get."""

    name: str
    act: Callable[[AppTest], object]
    kind: str | None  # "error" | "warning" | "info"; None: no message needed, it just works
    words: str = ""


def said(at: AppTest, kind: str) -> str:
    return " ".join(e.value for e in getattr(at, kind))


def check(at: AppTest, row: Row) -> None:
    row.act(at)
    assert errors(at) == [], f"{row.name}: {errors(at)}"
    if row.kind:
        assert row.words.lower() in said(at, row.kind).lower(), (
            f"{row.name}: no {row.kind} with {row.words!r}; page said "
            f"{ {k: said(at, k) for k in ('error', 'warning', 'info')} }"
        )


def fresh(path: str, **preset) -> AppTest:
    at = AppTest.from_file(path, default_timeout=TIMEOUT)
    for key, value in preset.items():
        at.session_state[key] = value
    return at.run()


def setting(**values) -> Callable[[AppTest], object]:
    """Write widget values (as a person typing them would) and rerun."""

    def act(at: AppTest) -> AppTest:
        for key, value in values.items():
            at.session_state[key] = value
        return at.run()

    return act


def upload(key: str, name: str, data: bytes) -> Callable[[AppTest], object]:
    return lambda at: at.file_uploader(key=key).set_value((name, data, "text/plain")).run()


BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 40
LATIN1 = "Zwölf Boxkämpfer jagen Viktor quer über den Sylter Deich. ".encode("latin-1") * 10
UTF16 = ("To be, or not to be: that is the question. " * 10).encode("utf-16")
HUGE = b"All the world's a stage. " * 800_000  # 20 MB

"""One student's lesson in a real browser (Debian's chromium through pytest-playwright), the same
lesson tests/e2e/lesson.py plays over the agent API, every interaction timed into a
`lesson.Record`; and a trainer's state read from what its tab shows. Used by the lesson load
test (tests/e2e/test_lesson_load.py).
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from lab.attention import state as attn
from lab.tokenizers import state as tok
from tests.e2e import lesson
from tests.e2e.helpers import problem

TIMEOUT = 180_000  # ms
QUEUED = re.compile(r"queued behind|yours starts when one finishes")
# A run seen finished was training before: it counts as started when first seen either way.
TRAINING = re.compile(r"training: step|Training .+: step|Training Live run|training: finished")


def css(key: str) -> str:
    return f".st-key-{key.replace('.', '-')}"


def timed(record: lesson.Record, kind: str, page: Page, action, check) -> None:
    """One browser interaction: act, then wait for what it should show; timed into record."""
    start = time.monotonic()
    error = None
    try:
        action()
        check()
        error = problem(page)
    except Exception as e:  # a timeout or a missing element is a failed interaction
        error = f"{type(e).__name__}: {str(e)[:300]}"
    end = time.monotonic()
    record.add(lesson.Timing(f"browser: {kind}", end - start, error, end))


def trainer_state(page: Page) -> str | None:
    """'queued', 'training' or None, from what the tab shows (the sidebar's status line, or
    the Training page's own message when the tab is there)."""
    shown = (
        page.get_by_test_id("stSidebar").inner_text() + page.get_by_test_id("stMain").inner_text()
    )
    if QUEUED.search(shown):
        return "queued"
    if TRAINING.search(shown):
        return "training"
    return None


class Trainers:
    """When each trainer pressed Start, was first seen queued, and first seen training.

    Read from the tabs between interactions, so a time is late by at most one interaction.
    """

    def __init__(self, pages: list[Page]) -> None:
        self.pages = pages
        self.pressed: dict[int, float] = {}
        self.queued: dict[int, float] = {}
        self.started: dict[int, float] = {}

    def look(self) -> None:
        for i, page in enumerate(self.pages):
            if i in self.pressed and i not in self.started:
                state = trainer_state(page)
                if state == "queued":
                    self.queued.setdefault(i, time.monotonic())
                elif state == "training":
                    self.started[i] = time.monotonic()

    def lines(self) -> str:
        """Per trainer: Start to its first step seen, and whether it queued for a slot."""
        parts = []
        for i in sorted(self.pressed):
            if i not in self.started:
                parts.append(f"#{i + 1} never started")
                continue
            waited = self.started[i] - self.pressed[i]
            queued = " (queued for a slot)" if i in self.queued else ""
            parts.append(f"#{i + 1} {waited:.1f} s{queued}")
        return ", ".join(parts)


def nav(page: Page, title: str) -> tuple:
    link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=title)
    heading = page.get_by_role("heading", name=title, level=1)
    return (lambda: link.click()), (lambda: expect(heading).to_be_visible(timeout=TIMEOUT))


def browser_lesson(page: Page, record: lesson.Record, trainers: Trainers, student: int) -> None:
    """The same lesson as lesson.play, with a mouse and keyboard (the run is already going)."""
    timed(record, "page switch", page, *nav(page, "Tokenizers"))
    main = page.get_by_test_id("stMain")
    expect(main).to_contain_text("Merge ", timeout=TIMEOUT)
    start = int(re.search(r"Merge ([\d,]+) of", main.inner_text())[1].replace(",", ""))
    for k in range(1, lesson.MERGES + 1):
        timed(
            record,
            "BPE Next merge",
            page,
            lambda: page.locator(f"{css(tok.TOK_NEXT)} button").click(),
            lambda k=k: expect(main).to_contain_text(f"Merge {start + k} of", timeout=TIMEOUT),
        )
        trainers.look()
    timed(record, "page switch", page, *nav(page, "Attention"))
    text = lesson.sentence(student)
    box = page.locator(f"{css(attn.ATTN_TEXT)} textarea")
    first = " ".join("␣" if c == " " else c for c in text[:8])
    timed(
        record,
        "type attention text",
        page,
        lambda: (box.fill(text), box.press("Control+Enter")),
        lambda: expect(page.get_by_test_id("stCode").first).to_contain_text(first, timeout=TIMEOUT),
    )
    trainers.look()
    for head in (1, 2, 3):
        timed(
            record,
            "attention head/layer",
            page,
            lambda head=head: page.locator(css(attn.ATTN_HEAD)).get_by_text(f"head {head}").click(),
            lambda head=head: expect(page.get_by_test_id("stPlotlyChart").first).to_contain_text(
                f"head {head}", timeout=TIMEOUT
            ),
        )
        trainers.look()
    timed(record, "page switch", page, *nav(page, "Next token"))
    thumb = page.locator(".st-key-temperature").get_by_role("slider")
    # The heading is drawn before the settings line: wait for it, as for "Merge " above.
    expect(main).to_contain_text("Sidebar settings: temperature ", timeout=TIMEOUT)
    for _ in range(3):
        before = float(re.search(r"temperature ([\d.]+),", main.inner_text())[1])
        after = round(before + 0.05, 2)
        timed(
            record,
            "sampling slider",
            page,
            lambda: (thumb.focus(), thumb.press("ArrowRight")),
            lambda after=after: expect(main).to_contain_text(
                f"temperature {after:g},", timeout=TIMEOUT
            ),
        )
        trainers.look()

"""Memory of a real `streamlit run lab/app.py` (started as the browser tests start it), driven by
Debian's chromium through Playwright: every page visited, a short training run, then a 2nd and
3rd browser session. RSS is summed over the server's process group, read from /proc and
sampled every 0.2 s in the background so the peak between readings is caught too.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from benchmarks.table import Row
from lab.catalog import CATALOG

LIMIT_MB = 690  # Community Cloud's smallest memory allowance
PAGE_SIZE = 4096


def url_paths() -> list[str]:
    """Where a browser finds each page ("" for the default page, served at the root)."""
    return [page.url for page in CATALOG]


def processes() -> Iterator[tuple[Path, list[str]]]:
    """(/proc/<pid>, the stat fields after "pid (comm) ": state, ppid, pgrp, ...) of every
    process now running; a process that ends while we look is skipped."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
        except (OSError, ValueError):
            continue
        if len(fields) > 2:
            yield proc, fields


def group_members(pgid: int) -> Iterator[tuple[Path, list[str]]]:
    """processes() of one process group."""
    return ((proc, fields) for proc, fields in processes() if fields[2] == str(pgid))


def group_rss_mb(pgid: int) -> float:
    """Resident memory of every process in a process group, in MB (from /proc/<pid>/statm)."""
    total = 0
    for proc, _ in group_members(pgid):
        try:
            total += int((proc / "statm").read_text().split()[1]) * PAGE_SIZE
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
    return total / 1e6


def peak_rss_mb(pid: int) -> float:
    """The kernel's high-water mark (VmHWM) of one process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    return 0.0


class Sampler:
    """Calls measure() every `every` seconds on a thread of its own and keeps, for each figure
    it returns, the largest value seen (a server's memory and threads peak between visits).

    Example: with Sampler(lambda: {"rss": group_rss_mb(pgid)}) as s: ...; s.peak["rss"]
    """

    def __init__(self, measure: Callable[[], dict[str, float]], every: float = 0.2) -> None:
        self.measure, self.every = measure, every
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            for name, value in self.measure().items():
                self.peak[name] = max(self.peak.get(name, value), value)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _visit_all(context, url: str, paths: list[str], wait_for_app, rss=None) -> tuple:
    """Open every page in one new tab; returns the tab and {path: MB the server grew by}."""
    page, growth = context.new_page(), {}
    for path in paths:
        before = rss() if rss else 0.0
        page.goto(f"{url}/{path}")
        wait_for_app(page, timeout=180_000)
        # The default page is served at the root: name it by its page, not by "".
        growth[path or "home"] = (rss() if rss else 0.0) - before
    return page, growth


def _short_training(page, url: str, seconds: float, wait_for_app) -> str:
    """Start the training page's default run, let it train, stop it. Returns what happened."""
    from playwright.sync_api import Error as PlaywrightError

    page.goto(f"{url}/training")
    wait_for_app(page, timeout=180_000)
    start = page.locator(".st-key-training-start button")
    try:
        start.wait_for(state="visible", timeout=60_000)
    except PlaywrightError:
        return "no Start button found: no training run"
    start.click()
    page.wait_for_timeout(int(seconds * 1000))
    page.locator(".st-key-training-stop button").click()
    wait_for_app(page, timeout=60_000)
    return f"then trained ~{seconds:.0f} s in session 1"


def run(log: Callable[[str], None], quick: bool = False) -> list[Row]:
    """Session 1 visits every page (growth per page noted), sessions 2 and 3 do the same, then
    session 1 trains for a few seconds; the peak is over all of it."""
    try:
        from playwright.sync_api import sync_playwright

        from tests.e2e.conftest import ARGS, CHROMIUM, start_server, stop_server
        from tests.e2e.helpers import wait_for_app
    except ImportError as e:
        return [Row("Server memory", None, "MB", note=f"skipped: {e}")]
    if not Path(CHROMIUM).exists():
        return [Row("Server memory", None, "MB", note=f"skipped: no browser at {CHROMIUM}")]

    paths = url_paths()
    if quick:  # the pages that load the most: the model, plotly, the tokenizer tables
        paths = [p for p in paths if p in ("", "attention")] or paths[:2]
    log_file = Path(tempfile.mkdtemp(prefix="bench-memory-")) / "server.log"
    proc, url = start_server(log_file)
    rss = lambda: group_rss_mb(proc.pid)  # noqa: E731
    try:
        idle = rss()
        with Sampler(lambda: {"rss": rss()}) as sampler, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            viewport = {"width": 1400, "height": 1600}
            page, growth = _visit_all(
                browser.new_context(viewport=viewport), url, paths, wait_for_app, rss
            )
            time.sleep(1.0)
            after = [rss()]
            log(
                f"memory: idle {idle:.0f} MB, 1 session {after[0]:.0f} MB; by page: "
                + ", ".join(f"{k} +{v:.0f}" for k, v in growth.items())
            )
            for _ in range(1 if quick else 2):  # a 2nd and a 3rd person
                _visit_all(browser.new_context(viewport=viewport), url, paths, wait_for_app)
                time.sleep(1.0)
                after.append(rss())
                log(f"memory: {len(after)} sessions {after[-1]:.0f} MB")
            trained = "no training (--quick)"
            if not quick and "training" in paths:
                trained = _short_training(page, url, 10.0, wait_for_app)
                time.sleep(1.0)
                log(
                    f"memory: after training {rss():.0f} MB, peak so far {sampler.peak.get('rss', 0):.0f} MB"
                )
            browser.close()
        hwm = peak_rss_mb(proc.pid)
        peak = max(sampler.peak.get("rss", 0.0), *after, hwm)
        extra = (after[-1] - after[0]) / (len(after) - 1)
        top = sorted(growth.items(), key=lambda kv: -kv[1])[:3]
        return [
            Row("Server RSS, idle after start", idle, "MB", better="lower", note="no session yet"),
            Row(
                "Server RSS: 1 session after every page",
                after[0],
                "MB",
                better="lower",
                limit=LIMIT_MB,
                note=f"{len(paths)} pages; most growth: "
                + ", ".join(f"{k} +{v:.0f} MB" for k, v in top),
            ),
            Row(
                "Server RSS: extra per additional session",
                extra,
                "MB",
                better="lower",
                note=f"(RSS with {len(after)} sessions - with 1) / {len(after) - 1}, each "
                f"visiting {len(paths)} pages; the allocator's reuse makes this noisy",
            ),
            Row(
                f"Server peak RSS: {len(after)} sessions, every page, short training",
                peak,
                "MB",
                better="lower",
                limit=LIMIT_MB,
                note=f"{trained}; sampled every 0.2 s; server VmHWM {hwm:.0f} MB",
            ),
        ]
    finally:
        stop_server(proc)

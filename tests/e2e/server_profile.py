"""Where the server's time goes during a load test: py-spy over the whole class, on request.

Set LESSON_PYSPY to a py-spy binary (`pip install --target /tmp/pyspy py-spy`, then
/tmp/pyspy/bin/py-spy) and the lesson test samples the server while the class plays; without
it nothing runs. Only threads doing work are sampled (py-spy leaves idle ones out), so shares
are of the server's busy time.
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path

PAGES = Path(__file__).resolve().parents[2] / "pages"
RATE = 25  # samples a second: enough for shares over minutes, cheap for the sampler

# Where a sample's time goes. A sample in a trainer thread is training; any other is named by
# its innermost frame that matches one of these (file path fragments, checked leaf first).
TRAINING = ("lab/engine/background.py", "lab/engine/liverun.py", "lab/finetune/")
WHERE = (
    ("model math (torch)", ("torch/", "minigpt/")),
    ("plotly figures", ("plotly/", "_plotly_utils/")),
    ("altair / vega-lite specs", ("altair/", "jsonschema/", "narwhals/")),
    ("dataframes (pandas, arrow)", ("pandas/", "pyarrow/", "dataframe_util")),
    ("agent API snapshots", ("streamlit/runtime/agent/",)),
    ("streamlit caches (hash, pickle)", ("streamlit/runtime/caching/", "pickle")),
    ("streamlit elements and messages", ("streamlit/elements/", "streamlit/proto", "protobuf")),
    ("JSON encoding", ("json/",)),
    ("server I/O (asyncio, uvicorn)", ("asyncio/", "selectors.py", "uvicorn/", "starlette/")),
    # py-spy names a page by its bare file name: "<module> (tokenizers.py:257)"
    ("page and lab code", ("lab/", *(f"({p.name}:" for p in PAGES.glob("*.py")))),
)


# Waits py-spy's idle filter misses (a sleeping watcher, a pool worker waiting for work), by
# the innermost frame: not work, so left out of the shares.
IDLE = (
    "PollingPathWatcher._schedule.<locals>.task",
    "Condition.wait",
    "_worker (concurrent",
    "EpollSelector.select",  # the event loop waiting for I/O
)


def where(stack: str) -> str | None:
    """The bucket of one collapsed py-spy stack ("f (file:line);g (file:line)"), None if idle."""
    leaf = stack.rsplit(";", 1)[-1]
    if not leaf.strip() or any(mark in leaf for mark in IDLE):
        return None
    if any(mark in stack for mark in TRAINING):
        return "training (trainer threads)"
    for frame in reversed(stack.split(";")):
        for name, marks in WHERE:
            if any(mark in frame for mark in marks):
                return name
    return "other"


class Profile:
    """py-spy recording the server from __enter__ to __exit__, if LESSON_PYSPY is set."""

    def __init__(self, pid: int, out: Path) -> None:
        self.pid, self.out = pid, out
        self.binary = os.environ.get("LESSON_PYSPY")
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Profile:
        if self.binary:
            cmd = [self.binary, "record", "-p", str(self.pid), "-r", str(RATE), "-f", "raw"]
            cmd += ["-o", str(self.out), "--nonblocking"]
            self.proc = subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.send_signal(2)  # SIGINT: py-spy writes its file and exits
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def shares(self) -> str | None:
        """The busy time by WHERE, as percentages, or None if nothing was recorded."""
        if self.proc is None or not self.out.exists():
            return None
        counts: Counter[str] = Counter()
        for line in self.out.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if not n.isdigit():
                continue
            if (bucket := where(stack)) is not None:
                counts[bucket] += int(n)
        total = sum(counts.values())
        if not total:
            return None
        return ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in counts.most_common())

"""One student's lesson, played without a browser, and what it measured.

`play` drives any client with `act(kind, page=..., widget_state=..., trigger=...)` and
`close()`: the load test's is tests/e2e/socket_session.py, the browser's own websocket
protocol; this module's AgentSession speaks Streamlit's agent API
(`--server.enableAgentApi=true`), where one `POST /_stcore/agent/interact` is one interaction
and returns when the run it caused has settled, with the finished page as a tree. Either way a
request's round trip is the interaction's latency as the server delivers it, with no JavaScript
or rendering in the load generator. The socket client's page is a tree of the same shape, so
`value`, `options` and `problem` read both.

Widget keys come from each page's lab/<page>/state.py; a value is sent as the widget reports
it (a radio with a format_func takes its label, "head 2").
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from lab import state as shared
from lab.attention import state as attn
from lab.next_token import state as nt
from lab.tokenizers import state as tok

MERGES = 10  # Next presses on the Tokenizers page
TIMEOUT = 300.0  # seconds one request may take before it counts as failed


@dataclass
class Timing:
    """One interaction: what kind, how long its round trip took, what went wrong (or None)."""

    kind: str
    seconds: float
    error: str | None = None
    at: float = 0.0  # time.monotonic() when it ended


@dataclass
class Record:
    """Every interaction of every session, appended from many threads."""

    timings: list[Timing] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, timing: Timing) -> None:
        with self.lock:
            self.timings.append(timing)

    def errors(self) -> list[str]:
        return [f"{t.kind}: {t.error}" for t in self.timings if t.error]


def nodes(tree: dict) -> Iterator[dict]:
    """Every node of a snapshot's tree, depth first."""
    yield tree
    for child in tree.get("children", ()):
        yield from nodes(child)


def problem(snapshot: dict) -> str | None:
    """What a person would see as broken on this snapshot: the app raised (an exception
    element, or status "error"), or an error alert; None when the page is fine."""
    for node in nodes(snapshot["tree"]):
        if node["type"] == "exception":
            return "exception: " + str(node.get("props", {}).get("message", ""))[:300]
        if node["type"] == "error":
            return "error alert: " + str(node.get("props", {}).get("body", ""))[:300]
    if snapshot.get("status") != "ready":
        return f"status {snapshot.get('status')}"
    return None


def value(snapshot: dict, key: str):
    """The value a widget holds in this snapshot (None if it is not on the page)."""
    return next((n.get("value") for n in nodes(snapshot["tree"]) if n.get("key") == key), None)


def options(snapshot: dict, key: str) -> list:
    node = next((n for n in nodes(snapshot["tree"]) if n.get("key") == key), {})
    return list(node.get("props", {}).get("options", ()))


class Client(Protocol):
    """What play drives: one session, timed into `record` (AgentSession, socket_session's)."""

    snapshot: dict  # the page after the last interaction, as a tree (see nodes)

    def __init__(self, url: str, record: Record) -> None: ...

    def act(self, kind: str, **body: Any) -> dict: ...

    def close(self) -> None: ...


class AgentSession:
    """One session on the server, driven over HTTP; every call is timed into `record`."""

    def __init__(self, url: str, record: Record) -> None:
        self.endpoint = f"{url}/_stcore/agent/interact"
        self.record = record
        self.session_id: str | None = None
        self.snapshot: dict = {}

    def _post(self, body: dict) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.endpoint,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def act(self, kind: str, **body) -> dict:
        """One interaction (page=..., widget_state=..., trigger=...); returns its snapshot.

        A run past server.agentWaitTimeout answers 202 and goes on: it is collected with a bare
        session_id, and the wait counts in the interaction's time.
        """
        if self.session_id:
            body["session_id"] = self.session_id
        start = time.monotonic()
        error = None
        try:
            code, answer = self._post(body)
            while code == 202:  # still running: wait for the same run
                self.session_id = answer.get("session_id", self.session_id)
                code, answer = self._post({"session_id": self.session_id})
            if code != 200:
                error = f"HTTP {code}: {answer.get('error', answer)}"
            else:
                self.session_id = answer["session_id"]
                self.snapshot = answer
                error = problem(answer)
        except (OSError, ValueError) as e:  # refused, reset, timed out, not JSON
            error = f"{type(e).__name__}: {e}"
        end = time.monotonic()
        self.record.add(Timing(kind, end - start, error, end))
        return self.snapshot

    def close(self) -> None:
        """Nothing to close: an agent session idles out (server.agentSessionTtl)."""


def sentence(student: int) -> str:
    """A line each student types twice, different for each (so each costs a forward pass)."""
    words = ["the king", "a rose", "my lord", "fair Juliet", "the moon", "good night"]
    line = f"{words[student % len(words)]} said {student} times, and so"
    return f"{line}. {line.capitalize()}."


def play(
    url: str,
    student: int,
    record: Record,
    think: float,
    session: type[Client] = AgentSession,
) -> None:
    """Open Home, pick a seed, step ten BPE merges, type a sentence and click through heads on
    Attention, move the sampling sliders on Next token; then leave (the session idles out).

    `think` is a student's mean pause between two interactions (seeded per student, 0.5x-1.5x),
    so thirty sessions arrive and click as a class does, not in lockstep. `session` is the
    client class (benchmarks/lesson_cpu.py passes one that also reads the server's CPU).
    """
    rng = random.Random(student)
    s = session(url, record)

    def pause() -> None:
        time.sleep(think * rng.uniform(0.5, 1.5))

    s.act("open Home (new session)", page="")
    pause()
    s.act("sidebar seed", widget_state={shared.SEED: 100 + student})
    pause()

    first = value(s.act("page switch", page="tokenizers"), tok.TOK_STEP)
    for _ in range(MERGES):
        pause()
        snap = s.act("BPE Next merge", trigger={"key": tok.TOK_NEXT})
    if snap and first is not None and value(snap, tok.TOK_STEP) != first + MERGES:
        got = value(snap, tok.TOK_STEP)
        record.add(Timing("BPE Next merge", 0.0, f"step {got} after {first} and {MERGES} Next"))
    pause()

    s.act("page switch", page="attention")
    pause()
    s.act("type attention text", widget_state={attn.ATTN_TEXT: sentence(student)})
    heads = options(s.snapshot, attn.ATTN_HEAD)[1:]
    layers = options(s.snapshot, attn.ATTN_LAYER)[1:2]
    for head in heads:
        pause()
        s.act("attention head/layer", widget_state={attn.ATTN_HEAD: head})
    for layer in layers:
        pause()
        s.act("attention head/layer", widget_state={attn.ATTN_LAYER: layer})
    pause()

    s.act("page switch", page="next_token")
    moves = [
        (shared.TEMPERATURE, round(rng.uniform(0.3, 1.6), 2)),
        (shared.TOP_K, rng.choice([5, 10, 20, 40])),
        (shared.TOP_P, round(rng.uniform(0.5, 0.95), 2)),
        (shared.TEMPERATURE, round(rng.uniform(0.3, 1.6), 2)),
    ]
    for key, new in moves:
        pause()
        snap = s.act("sampling slider", widget_state={key: new})
        if snap and value(snap, key) != new:
            record.add(Timing("sampling slider", 0.0, f"{key} is {value(snap, key)}, sent {new}"))
    pause()
    s.act("take a token", trigger={"key": nt.TAKE})
    s.close()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank. Example: percentile([1, 2, 3, 4], 50) == 2."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n q / 100), at least 1
    return ordered[int(rank) - 1]


def summary(timings: list[Timing]) -> list[tuple[str, int, float, float, float, int]]:
    """(kind, count, p50, p95, max, errors) per interaction kind, in order of first appearance."""
    kinds = list(dict.fromkeys(t.kind for t in timings))
    rows = []
    for kind in kinds:
        mine = [t for t in timings if t.kind == kind]
        seconds = [t.seconds for t in mine if t.seconds > 0] or [0.0]
        rows.append(
            (
                kind,
                len(seconds),
                percentile(seconds, 50),
                percentile(seconds, 95),
                max(seconds),
                sum(t.error is not None for t in mine),
            )
        )
    return rows

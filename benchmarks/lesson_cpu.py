"""What one student's lesson costs the server, in CPU seconds per interaction.

`python -m benchmarks.lesson_cpu [--students 4] [--against PATH] [--client socket|agent|both]`

The lesson of tests/e2e/test_lesson_load.py (open Home, pick a seed, ten BPE merges, a sentence
and its heads on Attention, the sampling sliders on Next token), played by one student at a
time with no pauses, over the browser's websocket protocol (tests/e2e/socket_session.py).
Around each interaction it reads the server's CPU time (user + system of its process group,
/proc): on a quiet server that is the work the interaction caused, whatever else the machine
runs. The first student warms the caches and is not counted.

With --against PATH (another checkout of this repository, say a clone at an older commit), a
second server runs from there and the students alternate between the two, so both are measured
in the same process and run; it prints ours / theirs per interaction kind (below 1: ours is
cheaper). A class of thirty waits on this CPU: it is what the load test's p95 queues behind.

--client agent plays the lesson over Streamlit's agent API instead, which makes the server
describe every element as JSON for its client; --client both runs a server for each kind of
client on this checkout, alternating, and prints socket / agent: what that description costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections import defaultdict
from pathlib import Path

from tests.e2e import lesson
from tests.e2e.conftest import ROOT, start_server, stop_server
from tests.e2e.server_stats import cpu_seconds
from tests.e2e.socket_session import SocketSession

CLIENTS: dict[str, type[lesson.Client]] = {
    "socket": SocketSession,  # the browser's websocket and protobufs: what a class costs
    "agent": lesson.AgentSession,  # Streamlit's agent API: also describes every element
}

ENV = {
    "STREAMLIT_SERVER_ENABLE_AGENT_API": "true",
    "STREAMLIT_SERVER_AGENT_SESSION_TTL": "600",  # every student's session lives to the end
    "STREAMLIT_SERVER_AGENT_MAX_SESSIONS": "100",
}


class Meter:
    """One server, and the CPU seconds each interaction kind cost it."""

    def __init__(self, root: Path, log: Path, client: type[lesson.Client]) -> None:
        self.proc, self.url = start_server(log, env=ENV, cwd=root)
        self.client = client
        self.cpu: dict[str, list[float]] = defaultdict(list)
        self.counting = False

    def play(self, student: int) -> list[str]:
        """One student's whole lesson; returns its errors."""
        record = lesson.Record()
        meter = self

        class Timed(self.client):
            def act(self, kind: str, **body) -> dict:
                before = cpu_seconds(meter.proc.pid)
                snapshot = super().act(kind, **body)
                if meter.counting:
                    meter.cpu[kind].append(cpu_seconds(meter.proc.pid) - before)
                return snapshot

        lesson.play(self.url, student, record, think=0.0, session=Timed)
        return record.errors()

    def per_student(self, students: int) -> float:
        return sum(sum(v) for v in self.cpu.values()) / students


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=4, help="counted, after one warm-up")
    parser.add_argument("--against", type=Path, help="another checkout to compare with")
    parser.add_argument(
        "--client",
        choices=[*CLIENTS, "both"],
        default="socket",
        help="how the students speak to the server; both: the two side by side on this checkout",
    )
    args = parser.parse_args()
    if args.client == "both" and args.against:
        parser.error("--client both compares the two clients on this checkout: drop --against")
    logs = ROOT / "tests" / "e2e" / "shots"
    logs.mkdir(exist_ok=True)
    if args.client == "both":
        meters = {
            name: Meter(ROOT, logs / f"lesson_cpu_{name}.log", client)
            for name, client in CLIENTS.items()
        }
    else:
        client = CLIENTS[args.client]
        meters = {"ours": Meter(ROOT, logs / "lesson_cpu_ours.log", client)}
        if args.against:
            meters["theirs"] = Meter(args.against.resolve(), logs / "lesson_cpu_theirs.log", client)
    try:
        for meter in meters.values():  # warm-up: imports, the shipped model, shared caches
            meter.play(student=1000)
            meter.counting = True
        for student in range(args.students):
            order = list(meters.values())
            for meter in order if student % 2 == 0 else order[::-1]:
                if errors := meter.play(student):
                    print(f"student {student}: {errors[:3]}")
    finally:
        for meter in meters.values():
            stop_server(meter.proc)
    names = list(meters)
    ours = meters[names[0]]
    theirs = meters[names[1]] if len(names) > 1 else None
    print(f"server CPU per interaction, ms (mean of {args.students} students; clock tick 10 ms)")
    print(
        f"{'interaction':<26} {'count':>5} {names[0]:>6}"
        + (f" {names[1]:>7} {'ratio':>6}" if theirs else "")
    )
    for kind, seconds in ours.cpu.items():
        line = f"{kind:<26} {len(seconds):>5} {1000 * statistics.mean(seconds):>6.0f}"
        if theirs and theirs.cpu.get(kind):
            mine, other = statistics.mean(seconds), statistics.mean(theirs.cpu[kind])
            line += f" {1000 * other:>7.0f} {mine / other:>5.2f}x"
        print(line)
    total = ours.per_student(args.students)
    line = f"{'a whole lesson, s':<26} {'':>5} {total:>6.2f}"
    if theirs:
        other = theirs.per_student(args.students)
        line += f" {other:>7.2f} {total / other:>5.2f}x"
    print(line)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

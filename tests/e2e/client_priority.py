"""The load generator takes only the CPU the server leaves, as if it ran on other machines.

A class's browsers run on thirty laptops; a load test runs its clients (a pytest process with a
thread per websocket session, and chromium) on the server's own two cores. Linux schedules each
session (setsid) as one group, with equal shares when all are busy (autogroup), and the server
starts in a session of its own (tests/e2e/conftest.py, to stop its whole process group). So the
load generator's group(s) held half the machine or more whenever they were busy: in the lesson
for thirty the server ran on 0.81 of the 2 cores while its threads waited 209 s for a CPU.

`clients_yield` lowers the clients' groups to the lowest priority (nice 19 for an autogroup, a
weight of 15 against the server's 1024) and puts them back afterwards. Starving a client can
only make what it measures slower (a reply waits to be read, a page to be painted), never
faster, so the figures stay an upper bound on what the class would see.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from benchmarks.memory import processes

LOWEST = 19
AUTOGROUP_SWITCH = Path("/proc/sys/kernel/sched_autogroup_enabled")


def descendants(root: int) -> list[int]:
    """root and every process below it (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for proc, fields in processes():
        children.setdefault(int(fields[1]), []).append(int(proc.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def autogroup(pid: int) -> tuple[str, int] | None:
    """(the group's name, its nice value) from /proc/<pid>/autogroup ("/autogroup-7 nice 0")."""
    try:
        name, _, nice = (Path(f"/proc/{pid}/autogroup").read_text()).split()
        return name, int(nice)
    except (OSError, ValueError):
        return None


def _set_autogroup_nice(pid: int, nice: int) -> bool:
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    except OSError:
        return False
    return True


@contextlib.contextmanager
def clients_yield(server_pid: int, lower: bool = True) -> Iterator[str]:
    """While inside, every process of this test but the server's runs at the lowest priority
    (with lower=False, nothing changes: to compare).

    Call it once the clients exist (chromium is launched by then: the renderers it starts later
    join its group). Yields a line saying what was lowered, for the report.
    """
    if not lower:
        yield "at normal priority"
        return
    server = set(descendants(server_pid))
    clients = [pid for pid in descendants(os.getpid()) if pid not in server]
    restore: list[tuple[int, int]] = []
    if AUTOGROUP_SWITCH.exists() and AUTOGROUP_SWITCH.read_text().strip() == "1":
        server_group = autogroup(server_pid)
        seen: set[str] = set()
        for pid in clients:
            group = autogroup(pid)
            if group is None or group[0] in seen or group[0] == (server_group or ("",))[0]:
                continue
            seen.add(group[0])
            if _set_autogroup_nice(pid, LOWEST):
                restore.append((pid, group[1]))
        line = f"{len(restore)} client session group(s) at autogroup nice {LOWEST}"
    else:  # no autogroups: each process and thread is scheduled on its own
        for pid in clients:
            for task in Path(f"/proc/{pid}/task").glob("*"):
                with contextlib.suppress(OSError, ValueError):
                    tid = int(task.name)
                    before = os.getpriority(os.PRIO_PROCESS, tid)
                    os.setpriority(os.PRIO_PROCESS, tid, LOWEST)
                    restore.append((-tid, before))
        line = f"{len(restore)} client threads at nice {LOWEST}"
    try:
        yield line
    finally:
        for pid, nice in restore:
            with contextlib.suppress(OSError):
                if pid < 0:
                    os.setpriority(os.PRIO_PROCESS, -pid, nice)
                else:
                    _set_autogroup_nice(pid, nice)

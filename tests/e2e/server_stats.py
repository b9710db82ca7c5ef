"""What a server process did, read from /proc while a load test runs: the CPU seconds of its
process group, and the time its threads were ready to run but waited for a CPU."""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.memory import group_members


def cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) used so far by every process in a process group, from
    /proc/<pid>/stat: the server's work, whatever else the machine is running."""
    # fields: state, ppid, pgrp, ..., utime (11), stime (12)
    total = sum(int(f[11]) + int(f[12]) for _, f in group_members(pgid) if len(f) > 12)
    return total / os.sysconf("SC_CLK_TCK")


class RunQueueWait:
    """Seconds the server's threads were ready to run but waited for a CPU (the kernel's
    /proc/<pid>/task/<tid>/schedstat, second field), summed over threads as they come and go;
    read often (every call adds what each live thread waited since the last call)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.seen, self.total = pid, {}, 0.0

    def __call__(self) -> dict[str, float]:
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                waited = int((task / "schedstat").read_text().split()[1]) / 1e9
            except (OSError, ValueError, IndexError):
                continue  # the thread ended while we looked
            self.total += waited - self.seen.get(task.name, 0.0)
            self.seen[task.name] = waited
        return {"runqueue": self.total}


def rss_split_mb(pid: int) -> dict[str, float]:
    """One process's resident memory by kind, in MB (/proc/<pid>/status): `anon` is what the
    program allocated (tensors, Python objects, malloc's heaps), `file` the pages of mapped
    files (torch's and Python's libraries), which the kernel can drop and read back."""
    kinds = {"RssAnon:": "anon", "RssFile:": "file", "RssShmem:": "shmem"}
    split: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, *rest = line.split()
        if key in kinds and rest:
            split[kinds[key]] = int(rest[0]) * 1024 / 1e6
    return split

"""A memory limit for a test's server, enforced the way a container's is: a cgroup of its own.

Community Cloud gives an app 690 MB, and a container's limit is a memory cgroup: the kernel
charges it everything the app's processes allocate and the pages of the files they read, and
when the charge reaches the limit it first evicts file pages it can read back (torch's and the
other libraries' code among them), and kills a process only when it cannot. So a server's RSS,
which counts every mapped file page it has touched, can exceed the limit that it still runs
within; whether it does is answered by running it inside one (`MemoryLimit`), not by its RSS.

Needs root and a writable memory controller (cgroup v2, or v1's memory hierarchy); `create`
returns None elsewhere. A file page is charged to the cgroup that first read it into the page
cache, so a library the test's own process has loaded (pytest imports torch and numpy) would
be charged to the test, not to the server. `private_packages` gives the server copies of its
own, and `create` drops the page cache (when allowed), so what the server reads is charged to
it, as in a fresh container. What stays shared is small: Python's own library and the system's
(about 10 MB of the server's RSS).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass
class MemoryLimit:
    """A cgroup holding at most `mb` megabytes (no swap), for one server and its children."""

    path: Path
    mb: int
    version: int  # 1 or 2: the files differ

    def command(self, cmd: list[str]) -> list[str]:
        """cmd run inside the cgroup from its first instruction (the shell joins, then execs)."""
        return ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(self.path / "cgroup.procs"), *cmd]

    def _read(self, name: str) -> str:
        try:
            return (self.path / name).read_text()
        except OSError:
            return ""

    def _number(self, name: str) -> int:
        text = self._read(name).strip()
        return int(text) if text.isdigit() else 0

    def _field(self, name: str, key: str) -> int:
        """`key N` from a flat keyed file (memory.events, memory.oom_control)."""
        for line in self._read(name).splitlines():
            k, _, v = line.partition(" ")
            if k == key and v.strip().isdigit():
                return int(v)
        return 0

    def peak_mb(self) -> float:
        """The most the cgroup was ever charged (memory, file pages included), MB."""
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        return self._number(name) / 1e6

    def oom_kills(self) -> int:
        """Processes the kernel killed for going over the limit."""
        if self.version == 2:
            return self._field("memory.events", "oom_kill")
        return self._field("memory.oom_control", "oom_kill")

    def pages_read_again(self) -> int:
        """Major page faults in the cgroup: pages (mostly evicted library code) read back from
        disk, what running close to the limit costs in time."""
        return self._field("memory.stat", "total_pgmajfault" if self.version == 1 else "pgmajfault")

    def summary(self) -> str:
        return (
            f"{self.mb} MB memory cgroup (v{self.version}, no swap): peak charged "
            f"{self.peak_mb():.0f} MB (memory and file pages), pages read back from disk "
            f"{self.pages_read_again():,}, processes killed {self.oom_kills()}"
        )

    def close(self) -> None:
        """Remove the cgroup (its processes must have ended)."""
        with contextlib.suppress(OSError):
            self.path.rmdir()


def _own_cgroup() -> tuple[Path, int] | None:
    """Where this process's memory cgroup is, and the cgroup version, if it can be written."""
    try:
        entries = [
            line.split(":", 2) for line in Path("/proc/self/cgroup").read_text().splitlines()
        ]
    except OSError:
        return None
    for _, controllers, where in entries:  # v1: a hierarchy of its own for memory
        if "memory" in controllers.split(","):
            base = CGROUP_ROOT / "memory" / where.lstrip("/")
            return (base, 1) if os.access(base, os.W_OK) else None
    where = next((w for _, controllers, w in entries if controllers == ""), None)
    for mount in (CGROUP_ROOT, CGROUP_ROOT / "unified"):  # v2: one tree, where it is mounted
        try:
            has_memory = "memory" in (mount / "cgroup.controllers").read_text().split()
        except OSError:
            continue
        if where is not None and has_memory:
            base = mount / where.lstrip("/")
            return (base, 2) if os.access(base, os.W_OK) else None
    return None


def private_packages(names: tuple[str, ...], into: Path) -> str:
    """Copies of installed packages (and their bundled libraries, `name.libs`) in `into`, for a
    server's PYTHONPATH: it then maps files no other process has read. Returns `into`."""
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(name)
        package = Path(spec.origin).parent
        for source in (package, package.with_name(f"{name}.libs")):
            if source.is_dir():
                shutil.copytree(source, into / source.name, symlinks=True, dirs_exist_ok=True)
    os.sync()  # written back, so dropping the page cache can drop them too
    return str(into)


def create(mb: int, name: str = "minigpt-server") -> MemoryLimit | None:
    """A fresh cgroup of `mb` MB, or None where this machine does not let us make one."""
    found = _own_cgroup()
    if found is None:
        return None
    base, version = found
    path = base / f"{name}-{os.getpid()}"
    limit = str(mb * 1_000_000)
    try:
        path.mkdir(exist_ok=True)
        if version == 2:
            (path / "memory.max").write_text(limit)
            with contextlib.suppress(OSError):
                (path / "memory.swap.max").write_text("0")
        else:
            (path / "memory.limit_in_bytes").write_text(limit)
            with contextlib.suppress(OSError):  # only where swap accounting is on
                (path / "memory.memsw.limit_in_bytes").write_text(limit)
    except OSError:
        with contextlib.suppress(OSError):
            path.rmdir()
        return None
    with contextlib.suppress(OSError):
        Path("/proc/sys/vm/drop_caches").write_text("3")
    return MemoryLimit(path, mb, version)

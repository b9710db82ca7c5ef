"""Browser tests: Playwright drives Debian's chromium against a real `streamlit run lab/app.py`.

Never `playwright install`: the browser is /usr/bin/chromium from Debian. When it or
pytest-playwright is missing the browser tests are skipped with a reason, never silently passed.

The server they all drive runs from a fresh copy of the repository (the files a clone holds),
so anything the app reads from an ignored or missing file fails in the browser tests;
tests/e2e/test_pages.py checks that copy serves every page. One server for both pays the app's
cold start once.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.request import urlopen

import pytest

from tests.e2e.helpers import SHOTS

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    reason = None
    if not Path(CHROMIUM).exists():
        reason = f"browser tests need Debian's chromium at {CHROMIUM}"
    elif shutil.which("streamlit", path=str(Path(sys.executable).parent)) is None:
        reason = "browser tests need the streamlit console script beside this python"
    for item in items:
        if "e2e" in str(item.path):
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    log_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    wrap: Callable[[list[str]], list[str]] | None = None,
) -> tuple[subprocess.Popen, str]:
    """`streamlit run lab/app.py` as a user runs it: the console script, from the repo root
    (or from `cwd`, another copy of it); `wrap` may put the command inside something (a
    memory limit, tests/e2e/memory_limit.py) that then execs it, keeping its pid."""
    port = _free_port()
    cmd = [
        str(Path(sys.executable).parent / "streamlit"),
        "run",
        "lab/app.py",
        "--server.headless=true",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--browser.gatherUsageStats=false",
        "--server.fileWatcherType=none",
    ]
    log = log_path.open("w")
    proc = subprocess.Popen(
        wrap(cmd) if wrap else cmd,
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError(f"streamlit did not start; see {log_path}")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop our own process group only, and make sure it is gone."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def repo_files(root: Path = ROOT) -> list[str]:
    """The files a clone of `root` holds: tracked, plus new files not ignored yet (what the next
    commit will hold)."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root, capture_output=True, check=True,
    ).stdout  # fmt: skip
    return [p for p in out.decode().split("\0") if p and (root / p).is_file()]


@pytest.fixture(scope="session")
def fresh_clone(tmp_path_factory) -> Path | None:
    """A copy of the repository holding only repo_files(), or None without git (the server then
    runs from the checkout, and the fresh-clone test is skipped). It runs with this venv's
    packages: installing them afresh takes minutes, and .ci/run does that."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    dest = tmp_path_factory.mktemp("clone") / "minigpt-lab"
    for rel in repo_files():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)
    return dest


@dataclass(frozen=True)
class Server:
    """The running `streamlit run lab/app.py` the browser tests share."""

    url: str
    root: Path  # the copy of the repository it runs from
    log: Path  # its output


@pytest.fixture(scope="session")
def server(fresh_clone: Path | None):
    SHOTS.mkdir(exist_ok=True)
    log = SHOTS / "server.log"
    if fresh_clone is None:
        proc, url = start_server(log)
    else:  # nothing from the checkout on the path: the copy alone must do
        proc, url = start_server(log, env={"PYTHONPATH": ""}, cwd=fresh_clone)
    yield Server(url, fresh_clone or ROOT, log)
    stop_server(proc)


@pytest.fixture(scope="session")
def app_url(server: Server) -> str:
    return server.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # Tall: Streamlit's main area scrolls inside itself, so a full-page screenshot adds nothing.
    return {**browser_context_args, "viewport": {"width": 1400, "height": 2400}}

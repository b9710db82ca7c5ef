"""A fresh copy of the repository works as a new user's clone would: `streamlit run lab/app.py`
from its root serves every page, and each opens in a real browser without an exception.

The copy holds the files git would hand over (tracked, plus new files not ignored yet: what the
next commit will hold), so anything the app reads from an ignored or missing file fails here.
It runs with this venv's packages: installing them afresh takes minutes, and .ci/run does that.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from urllib.request import urlopen

import pytest
from playwright.sync_api import Page

from lab.catalog import CATALOG
from tests.apptest import ROOT
from tests.e2e.conftest import start_server, stop_server
from tests.e2e.helpers import assert_no_exception, wait_for_app

pytestmark = [pytest.mark.slow]


def repo_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout  # fmt: skip
    return [p for p in out.decode().split("\0") if p and (ROOT / p).is_file()]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    dest = tmp_path_factory.mktemp("clone") / "minigpt-lab"
    for rel in repo_files():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)
    return dest


def test_a_fresh_clone_serves_every_page(clone: Path, page: Page) -> None:
    """The browser comes from pytest-playwright's fixture: a second sync_playwright() in the same
    process fails once the fixture's event loop is running (CI collects this after other e2e
    tests)."""
    assert not (clone / ".venv").exists() and (clone / "assets" / "shakespeare").is_dir()
    paths = [page.url for page in CATALOG]
    assert {"", "tokenizers", "positional", "attention", "training", "compare"} <= set(paths)

    started = time.monotonic()
    proc, url = start_server(clone / "server.log", env={"PYTHONPATH": ""}, cwd=clone)
    try:
        assert urlopen(f"{url}/_stcore/health", timeout=10).read() == b"ok"
        for path in paths:
            with urlopen(f"{url}/{path}", timeout=10) as reply:
                assert reply.status == 200 and b"<noscript>" in reply.read()
        for path in paths:
            page.goto(f"{url}/{path}")
            wait_for_app(page, timeout=120_000)
            assert_no_exception(page, f"fresh_clone_{path or 'home'}", screenshot=False)
            assert page.get_by_test_id("stHeading").count() > 0, f"{path} shows no title"
    finally:
        stop_server(proc)
    log = (clone / "server.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    assert str(ROOT) not in log  # nothing was loaded from the original checkout
    print(
        f"fresh clone: {len(repo_files())} files, every page served in {time.monotonic() - started:.0f} s"
    )

"""Every page opens in a real browser without an exception, served from a fresh clone and asking
nothing from elsewhere, and the sidebar's navigation keeps the shared sidebar.

Every page is opened once, in one tab, and every check a person's first look needs is made
there: the page is found and titled, the navigation is drawn, no exception is shown (a
screenshot each), and no request leaves the machine (a classroom may have no internet). The
server runs from a fresh copy of the repository (tests/e2e/conftest.py: `fresh_clone`), as a new
user's clone would: anything the app reads from an ignored or missing file fails here.
"""

from __future__ import annotations

import time
from urllib.parse import urlparse
from urllib.request import urlopen

import pytest
from playwright.sync_api import Error, Page, expect

from lab.catalog import CATALOG
from tests.apptest import ROOT
from tests.e2e.conftest import Server, repo_files
from tests.e2e.helpers import assert_no_exception, wait_for_app


def _elsewhere(url: str) -> bool:
    """A request for anything not on this machine (data: and blob: never leave the browser)."""
    local = urlparse(url).hostname in {"127.0.0.1", "localhost"}
    return not local and not url.startswith(("data:", "blob:"))


@pytest.mark.slow
def test_every_page_opens_cleanly_from_a_fresh_clone_offline(server: Server, page: Page) -> None:
    """The browser comes from pytest-playwright's fixture: a second sync_playwright() in the same
    process fails once the fixture's event loop is running (CI collects this after other e2e
    tests)."""
    clone = server.root
    from_clone = clone != ROOT  # without git the server runs from the checkout itself
    if from_clone:
        assert not (clone / ".venv").exists() and (clone / "assets" / "shakespeare").is_dir()
    paths = [lab_page.url for lab_page in CATALOG]  # "" is home, the default page at the root
    assert {"", "tokenizers", "positional", "attention", "training", "compare"} <= set(paths)

    started = time.monotonic()
    assert urlopen(f"{server.url}/_stcore/health", timeout=10).read() == b"ok"
    for path in paths:
        with urlopen(f"{server.url}/{path}", timeout=10) as reply:
            assert reply.status == 200 and b"<noscript>" in reply.read()

    elsewhere: list[str] = []
    page.on("request", lambda r: elsewhere.append(r.url) if _elsewhere(r.url) else None)
    failed: list[str] = []  # every page is looked at, and every failure reported at once
    for lab_page in CATALOG:
        try:
            page.goto(f"{server.url}/{lab_page.url}")
            wait_for_app(page, timeout=120_000)
            expect(page.get_by_text("Page not found")).to_have_count(0)
            expect(page.get_by_test_id("stSidebarNav")).to_be_visible()
            assert_no_exception(page, f"{lab_page.name}_opened")
            assert page.get_by_test_id("stHeading").count() > 0, "no title"
        except (AssertionError, Error) as e:
            failed.append(f"{lab_page.name}: {str(e)[:500]}")
    page.wait_for_timeout(500)  # the favicon is fetched after the page settles
    assert failed == [], "\n".join(failed)
    assert elsewhere == []

    log = server.log.read_text()
    assert "Traceback" not in log, log[-3000:]
    if from_clone:
        assert str(ROOT) not in log  # nothing was loaded from the original checkout
    print(f"{len(repo_files())} files, every page served in {time.monotonic() - started:.0f} s")


def test_sidebar_navigation_keeps_the_shared_sidebar(page: Page, app_url: str) -> None:
    # Value persistence across a switch is checked under AppTest (tests/test_app.py); here a
    # person's click through the sidebar must land on the page with the same sidebar drawn.
    page.goto(app_url)  # home is the default page, served at the root
    wait_for_app(page)
    expect(page.locator(".st-key-temperature")).to_contain_text("0.80")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Attention").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Attention").first).to_be_visible()
    expect(page.locator(".st-key-temperature")).to_contain_text("0.80")
    assert_no_exception(page, "sidebar_after_switch")

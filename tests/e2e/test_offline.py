"""A classroom may have no internet: no page asks the browser to fetch anything from elsewhere."""

from __future__ import annotations

from urllib.parse import urlparse

from playwright.sync_api import Page

from lab.catalog import CATALOG
from tests.e2e.helpers import wait_for_app


def test_no_request_leaves_the_machine(page: Page, app_url: str) -> None:
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda r: (
            elsewhere.append(r.url)
            if urlparse(r.url).hostname not in {"127.0.0.1", "localhost"}
            and not r.url.startswith(("data:", "blob:"))
            else None
        ),
    )
    for lab_page in CATALOG:
        page.goto(f"{app_url}/{lab_page.url}")
        wait_for_app(page)
    page.wait_for_timeout(500)  # the favicon is fetched after the page settles
    assert elsewhere == []

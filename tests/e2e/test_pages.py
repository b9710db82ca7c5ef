"""Every page opens in a real browser without an exception, and answers one interaction."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import assert_no_exception, wait_for_app

PAGES = ["home", "tokenizers", "positional", "attention", "training", "compare"]


@pytest.mark.parametrize("name", PAGES)
def test_page_opens_cleanly(page: Page, app_url: str, name: str) -> None:
    page.goto(f"{app_url}/{'' if name == 'home' else name}")  # the default page lives at the root
    wait_for_app(page)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    expect(page.get_by_test_id("stSidebarNav")).to_be_visible()
    assert_no_exception(page, f"{name}_opened")


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

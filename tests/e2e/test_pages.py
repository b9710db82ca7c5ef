"""Every page opens in a real browser without an exception, and answers one interaction."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import assert_no_exception, wait_for_app

PAGES = ["home", "tokenizers", "positional", "attention"]


@pytest.mark.parametrize("name", PAGES)
def test_page_opens_cleanly(page: Page, app_url: str, name: str) -> None:
    page.goto(f"{app_url}/{name}")
    wait_for_app(page)
    expect(page.get_by_test_id("stSidebarNav")).to_be_visible()
    assert_no_exception(page, f"{name}_opened")


def test_sidebar_keeps_its_values_across_pages(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/home")
    wait_for_app(page)
    thumb = page.locator(".st-key-temperature").get_by_role("slider")
    before = thumb.get_attribute("aria-valuenow")
    thumb.focus()
    thumb.press("ArrowRight")
    wait_for_app(page)
    after = thumb.get_attribute("aria-valuenow")
    assert after != before
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Attention").click()
    wait_for_app(page)
    assert page.locator(".st-key-temperature").get_by_role("slider").get_attribute("aria-valuenow") == after
    assert_no_exception(page, "sidebar_after_switch")

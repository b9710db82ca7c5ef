"""The Next token page in a real browser: the stages and both linked views are drawn, a step
and a forced candidate extend the sequence, undo takes one back, a sidebar slider reshapes the
odds, and predict-then-reveal hides them until asked. Screenshots at 1400x2400 and 1280x720."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import SHOTS, assert_no_exception, wait_for_app


def open_page(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/next_token")
    wait_for_app(page, timeout=120_000)
    expect(page.get_by_role("heading", name="Next token").first).to_be_visible()


def metric(page: Page, label: str):
    named = page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    return page.get_by_test_id("stMetric").filter(has=named).get_by_test_id("stMetricValue")


def added_tokens(page: Page) -> int:
    """Tokens added after the prompt: the sequence shows them underlined."""
    return page.locator("span[style*='underline']").count()


def test_stages_steps_and_reveal(page: Page, app_url: str) -> None:
    open_page(page, app_url)
    expect(page.get_by_test_id("stPlotlyChart").locator(".main-svg").first).to_be_visible()
    charts = page.get_by_test_id("stVegaLiteChart")
    expect(charts).to_have_count(2)  # surprise and lens
    expect(charts.first.locator("canvas, svg").first).to_be_visible()
    expect(metric(page, "Bits per character")).to_have_text(re.compile(r"^\d+\.\d\d$"))
    assert_no_exception(page, "next_token_opened")

    page.locator(".st-key-next_token-take button").click()
    wait_for_app(page)
    expect(page.locator("span[style*='underline']")).to_have_count(1)
    page.locator(".st-key-next_token-force button").last.click()  # the 20th candidate
    wait_for_app(page)
    expect(page.locator("span[style*='underline']")).to_have_count(2)
    page.locator(".st-key-next_token-undo button").click()
    wait_for_app(page)
    expect(page.locator("span[style*='underline']")).to_have_count(1)
    assert_no_exception(page, "next_token_stepped")

    kept = metric(page, "Tokens kept")
    before = kept.inner_text()
    thumb = page.locator(".st-key-top_k").get_by_role("slider")
    thumb.focus()
    thumb.press("ArrowRight")  # top-k 0 (off) -> 1: one token left
    wait_for_app(page)
    expect(kept).to_contain_text("1 of", timeout=15_000)
    assert kept.inner_text() != before

    page.locator(".st-key-next_token-hide label").click()
    wait_for_app(page)
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(0)
    expect(page.get_by_text("Guess, then reveal")).to_be_visible()
    page.locator(".st-key-next_token-reveal button").click()
    wait_for_app(page)
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(1)
    assert_no_exception(page, "next_token_revealed")


def test_small_screen(page: Page, app_url: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})
    open_page(page, app_url)
    assert_no_exception(page, "next_token_1280x720")
    page.get_by_test_id("stPlotlyChart").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "next_token_1280x720_stages.png"))
    surprise, lens = page.get_by_test_id("stVegaLiteChart").all()
    surprise.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "next_token_1280x720_surprise.png"))
    lens.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "next_token_1280x720_lens.png"))

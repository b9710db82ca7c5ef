"""The Fine-tune page in a real browser: a short LoRA run trains in the background, its
held-out accuracy appears beside both baselines, and its model reaches the sidebar."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import SHOTS, assert_no_exception, wait_for_app
from tests.e2e.test_projector import cut_off


def metric_value(page: Page, label: str):
    name = page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    return page.get_by_test_id("stMetric").filter(has=name).get_by_test_id("stMetricValue")


def set_number(page: Page, key: str, value: int) -> None:
    box = page.locator(f".st-key-{key} input")
    box.fill(str(value))
    box.press("Enter")
    wait_for_app(page)


def test_a_short_lora_run_shows_accuracy_and_reaches_the_sidebar(page: Page, app_url: str):
    page.goto(f"{app_url}/finetune")
    wait_for_app(page, timeout=120_000)
    expect(metric_value(page, "Share that trains")).to_have_text(re.compile(r"\d+\.\d\d%"))
    expect(page.locator("[data-counts='1']").first).to_be_visible()  # the mask is drawn
    assert_no_exception(page, "finetune_opened")

    set_number(page, "finetune-steps", 6)
    set_number(page, "finetune-eval_items", 4)
    page.locator(".st-key-finetune-start button").click()
    expect(page.get_by_text("Fine-tuning Run 1")).to_be_visible(timeout=60_000)
    expect(metric_value(page, "Untuned model")).to_have_text(re.compile(r"\d+%"), timeout=60_000)
    expect(metric_value(page, "Held-out accuracy")).to_have_text(
        re.compile(r"\d+%"), timeout=120_000
    )
    expect(page.get_by_text("Run 1: play, LoRA r8 finished: 6 steps")).to_be_visible(
        timeout=120_000
    )
    wait_for_app(page)
    expect(metric_value(page, "Step")).to_have_text("6 / 6")
    axis = "of the first 4 questions"
    expect(page.get_by_text(axis, exact=True)).to_be_visible()  # the accuracy chart's y axis
    expect(page.get_by_text("Before and after", exact=False).first).to_be_visible()
    assert_no_exception(page, "finetune_finished")

    # The model is offered in the sidebar's model choice.
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
    expect(page.get_by_role("option", name=re.compile("Fine-tuned"))).to_be_visible()
    page.keyboard.press("Escape")

    # Every page's sidebar says how the fine-tune went (tests/test_page_finetune.py follows
    # one that is still training from page to page).
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("fine-tuning: finished, 6 steps")).to_be_visible()
    sidebar.get_by_role("link", name="Attention").click()
    wait_for_app(page)
    expect(sidebar.get_by_text("fine-tuning: finished, 6 steps")).to_be_visible()
    sidebar.get_by_role("link", name="Fine-tune").click()
    wait_for_app(page)
    expect(page.get_by_text("Before and after", exact=False).first).to_be_visible()

    # Projector-safe after a run too: nothing cut off at either classroom size.
    for width, height in ((1024, 768), (1280, 720)):
        page.set_viewport_size({"width": width, "height": 3000})
        page.wait_for_timeout(500)
        assert cut_off(page) == [], f"{width}x{height}"
        page.set_viewport_size({"width": width, "height": height})
        page.get_by_text("Before and after").scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        page.screenshot(path=str(SHOTS / f"finetune_{width}x{height}.png"))

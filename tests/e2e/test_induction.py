"""The attention page's induction lesson in a real browser: one click opens the shipped
induction model on random letters typed twice, switching its induction heads off makes the
second copy's loss rise. Screenshots at 1280x720 and 1400x2400."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.helpers import SHOTS, assert_no_exception, wait_for_app


def metric(page: Page, label: str):
    named = page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    return page.get_by_test_id("stMetric").filter(has=named)


def nats(locator) -> float:
    return float(locator.get_by_test_id("stMetricValue").inner_text().split()[0])


def switch_off(page: Page, head: str) -> None:
    box = page.locator(".st-key-attention-ablate")
    box.scroll_into_view_if_needed()
    box.get_by_role("combobox").click()
    page.keyboard.type(head)  # the list is filtered to this head
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")  # close the list, so it hides nothing below
    wait_for_app(page)
    expect(box.get_by_text(head, exact=True)).to_be_visible()


def show_induction(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/attention")
    wait_for_app(page, timeout=120_000)
    page.get_by_role("button", name="Show me an induction head").click()
    wait_for_app(page, timeout=120_000)
    expect(page.get_by_text("Shipped induction model").first).to_be_visible()


def test_switching_off_the_induction_heads_raises_the_second_copy_loss(
    page: Page, app_url: str
) -> None:
    """The lesson opened once (two tests once opened it each): on a projector's 1280x720 first,
    where the map is drawn and the first head is switched off, then on a tall screen for the
    second head and the loss it costs."""
    page.set_viewport_size({"width": 1280, "height": 720})
    show_induction(page, app_url)
    second = metric(page, "Its second copy")
    second.scroll_into_view_if_needed()
    intact = nats(second)
    page.get_by_test_id("stPlotlyChart").first.scroll_into_view_if_needed()
    assert_no_exception(page, "induction_1280x720_map")

    switch_off(page, "layer 2, head 0")  # the shipped model's two induction heads
    second.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "induction_1280x720_heads_off.png"))

    page.set_viewport_size({"width": 1400, "height": 2400})
    switch_off(page, "layer 2, head 2")
    expect(second.get_by_test_id("stMetricDelta")).to_have_text(re.compile(r"^\+\d+\.\d\d vs"))
    assert nats(second) > intact + 1.0
    second.scroll_into_view_if_needed()
    assert_no_exception(page, "induction_heads_off")


def test_the_live_preset_grows_an_induction_head(page: Page, app_url: str) -> None:
    """The preset forms a head by step ~550 (about a minute of training on a quiet machine,
    benchmarks/RESULTS.md); the section names the step when the best score first passes 0.5."""
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.goto(f"{app_url}/training")
    wait_for_app(page, timeout=120_000)
    page.locator(".st-key-training-induction label").click()
    wait_for_app(page, timeout=120_000)
    page.locator(".st-key-training-start button").click()
    expect(page.get_by_text("An induction head forming")).to_be_visible(timeout=120_000)
    formed = page.get_by_text(re.compile(r"A head first scored 0\.5 or more at step [\d,]+"))
    expect(formed).to_be_visible(timeout=420_000)
    formed.scroll_into_view_if_needed()
    assert_no_exception(page, "induction_formed_live")
    # the main loss chart marks the same step (a dashed rule), named in its legend line
    expect(page.get_by_text("an induction head formed")).to_be_visible()
    loss = page.get_by_test_id("stVegaLiteChart").first  # Loss, Perplexity, Learning rate
    loss.scroll_into_view_if_needed()
    loss.screenshot(path=str(SHOTS / "induction_formed_loss_chart.png"))
    page.locator(".st-key-training-stop button").click()

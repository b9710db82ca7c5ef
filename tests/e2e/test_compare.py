"""The Compare page in a real browser: shipped results at once, the reading switch, live training."""

from __future__ import annotations

import re
from urllib.parse import quote

from playwright.sync_api import Page, expect

from lab.compare.entries import LIVE_PRESETS
from tests.e2e.helpers import SHOTS, assert_no_exception, wait_for_app

# The longer live preset: the quick one (150 steps of a 1-layer model) could finish training
# before Stop landed on a busy CI machine, and the page then rightly said "Measuring
# extrapolation", not "Stopped" (once in thirteen CI runs).
LONGER = max(LIVE_PRESETS, key=lambda title: LIVE_PRESETS[title].train.max_iters)


def test_compare_shows_results_switches_reading_and_trains_live(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/compare?preset={quote(LONGER)}")
    wait_for_app(page)
    main = page.get_by_test_id("stMain")
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts.first.locator(".main-svg").first).to_be_visible()
    expect(main).to_contain_text("learned: no positions past 64")  # the undefined region, labelled
    expect(main).to_contain_text("Measured on held-out text, 3 seeds per encoding")
    assert_no_exception(page, "compare_windows")

    page.locator(".st-key-compare-reading").get_by_text("Loss by token position").click()
    wait_for_app(page)
    expect(main).to_contain_text("at positions 64-127")
    expect(charts.nth(1)).to_contain_text("token position")
    assert_no_exception(page, "compare_position")

    page.get_by_role("tab", name="Run it yourself").click()
    page.locator(".st-key-compare-start button").click()
    status = main.get_by_test_id("stAlert").filter(has_text="Training: step")
    expect(status).to_be_visible(timeout=60_000)
    first = status.inner_text()
    expect(status).not_to_have_text(first, timeout=30_000)  # the steps count up live
    sidebar = page.locator(".st-key-sidebar-training")  # and the sidebar says so
    expect(sidebar).to_contain_text("training: step", timeout=30_000)
    page.locator(".st-key-compare-stop button").click()
    stopped = main.get_by_test_id("stAlert").filter(has_text="Stopped: step")
    expect(stopped).to_be_visible(timeout=30_000)
    # The sidebar ends on the same step as the page: it may be drawn while the last slice
    # finishes, one step behind, and then catches up at its next look (every 2 s).
    step = re.search(r"Stopped: step (\d+)", stopped.inner_text()).group(1)
    expect(sidebar).to_contain_text(f"stopped at step {step} of", timeout=10_000)
    wait_for_app(page)
    assert_no_exception(page, "compare_live_stopped")
    page.screenshot(path=str(SHOTS / "compare_live_stopped.png"))

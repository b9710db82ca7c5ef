"""The Live training page in a real browser: a run starts, its numbers and chart update while it
trains, Stop lands quickly, another browser never sees the run, and a closed tab gives its
trainer slot back."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Browser, Page, expect

from tests.e2e.helpers import SHOTS, assert_no_exception, wait_for_app

VIEWPORT = {"width": 1400, "height": 2400}


def open_training(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/training")
    wait_for_app(page, timeout=120_000)  # a cold server reads and encodes the plays first
    expect(page.get_by_test_id("stMetricLabel").get_by_text("Time per step")).to_be_visible()


def step_value(page: Page):
    """The live "Step" metric (not "Time per step"), e.g. "120 / 1,500"."""
    label = page.get_by_test_id("stMetricLabel").get_by_text("Step", exact=True)
    return page.get_by_test_id("stMetric").filter(has=label).get_by_test_id("stMetricValue")


def start(page: Page) -> None:
    page.locator(".st-key-training-start button").click()
    expect(page.get_by_text("Training Live run 1")).to_be_visible(timeout=60_000)


def test_a_run_updates_live_stops_and_stays_in_its_session(
    page: Page, app_url: str, browser: Browser
):
    open_training(page, app_url)
    assert_no_exception(page, "training_opened")
    start(page)
    step = step_value(page)
    first = step.inner_text()
    expect(step).not_to_have_text(first, timeout=30_000)  # it updates while training...
    second = step.inner_text()
    expect(step).not_to_have_text(second, timeout=30_000)  # ...and again
    expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(3)  # loss, perplexity, lr
    expect(
        page.get_by_test_id("stVegaLiteChart").first.locator("canvas, svg").first
    ).to_be_visible()
    expect(page.get_by_text("── step 0 ──")).to_be_visible()  # the sample log has begun
    assert_no_exception(page, "training_running")

    clicked = time.monotonic()
    page.locator(".st-key-training-stop button").click()
    expect(page.get_by_text("is stopped at step")).to_be_visible(timeout=60_000)
    stop_seconds = time.monotonic() - clicked
    stopped = step.inner_text()
    page.wait_for_timeout(2_000)
    assert step.inner_text() == stopped  # stopped means stopped
    # The thread ends its slice (0.5 s, or an evaluation it is in), the page's next poll (2 s)
    # sees it and redraws: seconds, even on a shared machine.
    assert stop_seconds < 30, f"Stop took {stop_seconds:.1f} s"
    wait_for_app(page)  # the full rerun after Stop has finished: no stale copies left
    # .first: Streamlit puts a button that has a help tooltip in the DOM twice
    expect(page.locator(".st-key-training-use button").first).to_be_enabled()
    assert_no_exception(page, "training_stopped")

    other = browser.new_context(viewport=VIEWPORT)
    try:
        theirs = other.new_page()
        open_training(theirs, app_url)
        expect(theirs.get_by_text("Press Start to train")).to_be_visible()
        expect(theirs.get_by_text("Live run 1")).to_have_count(0)
        expect(theirs.locator(".st-key-training-stop button")).to_be_disabled()
        theirs.screenshot(path=str(SHOTS / "training_other_session.png"))
    finally:
        other.close()


def test_a_closed_tab_gives_its_trainer_slot_back(app_url: str, browser: Browser):
    """With the default cap of 2: A trains and closes; B and C start; C gets a slot once A's
    tab has disconnected: Streamlit then clears A's session-scoped resources, whose release
    hook stops A's training thread (lab/cache/trainers.py), so nothing of A's run is left
    behind. Only A's session state waits out server.disconnectedSessionTTL, for a reconnect."""
    contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(3)]
    try:
        a, b, c = (ctx.new_page() for ctx in contexts)
        open_training(a, app_url)
        start(a)
        contexts[0].close()
        for page in (b, c):
            open_training(page, app_url)
            page.locator(".st-key-training-start button").click()
        expect(b.get_by_text("Training Live run 1")).to_be_visible(timeout=60_000)
        expect(c.get_by_text("Training Live run 1")).to_be_visible(timeout=120_000)
        c.screenshot(path=str(SHOTS / "training_after_closed_tab.png"))
        for page in (b, c):
            page.locator(".st-key-training-stop button").click()
            expect(page.get_by_text("is stopped at step")).to_be_visible(timeout=15_000)
    finally:
        for ctx in contexts[1:]:
            ctx.close()


def steps_in(text: str) -> int:
    """The step count of a status line. Example: steps_in("training: step 1,204 of 1,500") == 1204"""
    match = re.search(r"step ([\d,]+)", text)
    assert match, f"no step in {text!r}"
    return int(match.group(1).replace(",", ""))


def test_a_run_goes_on_while_the_student_is_on_another_page(page: Page, app_url: str):
    open_training(page, app_url)
    start(page)
    status = page.locator(".st-key-sidebar-training")
    expect(status).to_contain_text("training: step", timeout=30_000)

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Attention").click()
    expect(page.get_by_role("heading", name="Attention").first).to_be_visible(timeout=60_000)
    expect(status).to_contain_text("training: step", timeout=30_000)  # said on every page
    left_at = steps_in(status.inner_text())
    expect(status).not_to_have_text(status.inner_text(), timeout=60_000)  # it counts on here
    # The live model is offered, and the Attention page draws it.
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name=re.compile(r"^Live run \(step [\d,]+\)$")).click()
    # A new model: the page measures its heads first (slow while the run trains beside it).
    expect(page.get_by_test_id("stMain")).to_contain_text("(live, step", timeout=180_000)
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible(timeout=180_000)
    assert_no_exception(page, "attention_on_the_live_run")
    away = steps_in(status.inner_text(timeout=120_000))

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Live training").click()
    step = step_value(page)
    expect(step).to_be_visible(timeout=120_000)
    shown = step.inner_text(timeout=120_000)
    back = int(shown.split("/")[0].replace(",", ""))
    # It trained while the student was away. Equal is allowed on return: a run steps aside
    # while pages draw (lab.engine.background.MAX_YIELD), and two draws can come back to back.
    assert back >= away > left_at
    expect(step).not_to_have_text(shown, timeout=60_000)  # and it goes on counting here
    page.locator(".st-key-training-stop button").click()
    expect(page.get_by_text("is stopped at step")).to_be_visible(timeout=30_000)
    assert_no_exception(page, "training_after_a_visit")

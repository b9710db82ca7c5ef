"""What every browser test needs: wait for a Streamlit run to finish, and check for errors."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

SHOTS = Path(__file__).resolve().parent / "shots"


def wait_for_app(page: Page, timeout: float = 60_000) -> None:
    """Wait until the script has finished its run and no skeleton is left (after Streamlit's own e2e)."""
    page.wait_for_timeout(300)  # let a just-triggered rerun start
    app = page.locator("[data-testid='stApp']")
    app.and_(page.locator("[data-test-connection-state='CONNECTED']")).wait_for(timeout=timeout)
    app.and_(page.locator("[data-test-script-state='notRunning']")).wait_for(timeout=timeout)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=timeout)


def problem(page: Page) -> str | None:
    """What is wrong with the page as a person sees it, or None: an exception element, the
    generic alert of an uncaught error (showErrorDetails is off), or a URL the router does not
    know."""
    exceptions = page.get_by_test_id("stException")
    if exceptions.count():
        return exceptions.first.inner_text()
    main = page.get_by_test_id("stMain").inner_text()
    if "An error has occurred" in main:
        return main[:500]
    if page.get_by_text("Page not found").count():
        return "Page not found"
    return None


def assert_no_exception(page: Page, name: str, screenshot: bool = True) -> None:
    """Fail on any problem() of the page, saving what the person saw: always, or (with
    screenshot=False, for many sessions at once) only when something is wrong."""
    found = problem(page)
    if screenshot or found:
        page.screenshot(path=str(SHOTS / f"{name}.png"))
    assert found is None, f"{name}: {found}"

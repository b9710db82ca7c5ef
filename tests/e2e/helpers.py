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


def assert_no_exception(page: Page, name: str) -> None:
    """Fail on any exception element, after saving what the person would have seen."""
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    exceptions = page.get_by_test_id("stException")
    assert exceptions.count() == 0, exceptions.first.inner_text()
    # With showErrorDetails off, an uncaught error shows as a plain alert without the trace.
    assert "An error has occurred" not in page.locator("[data-testid='stMain']").inner_text()

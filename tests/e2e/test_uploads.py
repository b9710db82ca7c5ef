"""Hostile uploads in a real browser: a file over the server's limit (.streamlit/config.toml
maxUploadSize) is refused by Streamlit before the app sees it; one under that limit but over the
page's own, and a binary file, get the page's message; the session goes on working after all."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.helpers import assert_no_exception, wait_for_app

MB = 1_000_000


def test_oversized_and_binary_uploads_get_messages(
    page: Page, app_url: str, tmp_path: Path
) -> None:
    page.goto(f"{app_url}/tokenizers")
    wait_for_app(page)
    page.locator(".st-key-tokenizers-source").get_by_text("Upload a file").click()
    wait_for_app(page)
    main = page.get_by_test_id("stMain")
    picker = page.locator(".st-key-tokenizers-upload input[type='file']")
    files = {  # paths, not buffers: chromium reads them itself, nothing crosses Playwright's pipe
        "huge.txt": b"a" * (20 * MB),
        "two.txt": b"to be " * (MB // 3),
        "a.png": b"\x89PNG\r\n\x1a\n\x00\x00" * 100,
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)

    picker.set_input_files(tmp_path / "huge.txt")
    expect(page.locator(".st-key-tokenizers-upload")).to_contain_text("or smaller", timeout=30_000)
    wait_for_app(page)
    assert_no_exception(page, "upload_20mb")

    picker.set_input_files(tmp_path / "two.txt")
    too_big = main.get_by_test_id("stAlert").filter(has_text="larger than the 1 MB limit")
    expect(too_big).to_be_visible(timeout=30_000)
    assert_no_exception(page, "upload_2mb")

    picker.set_input_files(tmp_path / "a.png")
    expect(main.get_by_test_id("stAlert").filter(has_text="binary")).to_be_visible(timeout=30_000)
    assert_no_exception(page, "upload_binary")

    page.locator(".st-key-tokenizers-source").get_by_text("Shakespeare").click()
    wait_for_app(page)
    expect(main).to_contain_text("Merge 1 of")  # the ordinary page is back
    assert_no_exception(page, "upload_then_shakespeare")

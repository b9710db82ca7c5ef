"""The Tokenizers page in a real browser: a character cut across byte tokens shows once with
its bytes beneath, GPT-4o's o200k_base sits beside cl100k_base with <|endoftext|> as one special
token, the tokenized text sits beside the Prev/Next buttons, and choosing "Paste text" before
typing gives a hint. Screenshots at 1400x2400 and 1280x720."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.e2e.helpers import SHOTS, assert_no_exception, wait_for_app

TEXT = "東 and a 🌹 Hello<|endoftext|>world"


def column(page: Page, title: str) -> Locator:
    """A part-3 column, found by its heading."""
    heading = page.get_by_text(title, exact=True)
    return page.get_by_test_id("stColumn").filter(has=heading).last


def box(locator: Locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not drawn"
    return found


def type_text(page: Page, text: str) -> None:
    area = page.locator(".st-key-tokenizers-text textarea")
    area.fill(text)
    area.press("Control+Enter")  # a text area sends its value on Ctrl+Enter (or on blur)
    wait_for_app(page)


def assert_under(char: Locator, parts: Locator) -> None:
    """The character is drawn above its byte tokens, over the same stretch of the line."""
    top, below = box(char), box(parts.first)
    assert top["y"] + top["height"] <= below["y"] + 1, (top, below)
    last = box(parts.last)
    assert below["x"] <= top["x"] + top["width"] and top["x"] <= last["x"] + last["width"]


def assert_beside_stepper(page: Page) -> None:
    """The stepper's tokens sit to the right of Next, starting above Next's bottom edge."""
    nxt = box(page.locator(".st-key-tokenizers-next button"))
    tokens = box(page.get_by_test_id("stHtml").first)
    assert tokens["x"] >= nxt["x"] + nxt["width"], (nxt, tokens)
    assert tokens["y"] < nxt["y"] + nxt["height"], (nxt, tokens)


def test_split_characters_production_columns_and_stepper(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/tokenizers")
    wait_for_app(page, timeout=120_000)
    assert_beside_stepper(page)
    stepper = page.get_by_test_id("stHtml").first
    before = stepper.inner_html()
    page.locator(".st-key-tokenizers-next button").click()
    wait_for_app(page)
    assert stepper.inner_html() != before  # the next merge shows in place, beside the button
    type_text(page, TEXT)
    assert_no_exception(page, "tokenizers_opened")

    gpt4 = column(page, "GPT-4 (cl100k_base)")
    rose = gpt4.locator(".tok-group").filter(has=page.locator(".tok-char", has_text="🌹"))
    expect(rose).to_have_count(1)
    parts = rose.locator(".tok-bytes")
    # cl100k cuts " 🌹" in three: the space and two bytes, one byte, one byte
    expect(parts).to_have_text(["␣\\xf0\\x9f", "\\x8c", "\\xb9"])
    assert_under(rose.locator(".tok-char"), parts)
    east = gpt4.locator(".tok-group").filter(has=page.locator(".tok-char", has_text="東"))
    expect(east.locator(".tok-bytes")).to_have_text(["\\xe6\\x9d", "\\xb1"])

    gpt4o = column(page, "GPT-4o (o200k_base)")
    expect(gpt4o).to_be_visible()
    special = gpt4o.locator(".tok-special")
    expect(special).to_have_text("<|endoftext|>")
    expect(special).to_have_attribute("title", "id 199999 · special token <|endoftext|>")
    expect(gpt4.locator(".tok-special")).to_have_attribute(
        "title", "id 100257 · special token <|endoftext|>"
    )
    # the rose in your BPE's column too (Shakespeare's merges never glue emoji bytes)
    ours = column(page, "Your BPE").locator(".tok-group").filter(has_text="🌹")
    expect(ours.locator(".tok-bytes").last).to_have_text("\\xb9")
    assert ours.locator(".tok-bytes").count() >= 3

    page.screenshot(path=str(SHOTS / "tokenizers_1400x2400.png"))

    page.set_viewport_size({"width": 1280, "height": 720})
    wait_for_app(page)
    assert_beside_stepper(page)
    page.locator(".st-key-tokenizers-next button").evaluate(
        "b => b.scrollIntoView({block: 'center'})"
    )
    page.screenshot(path=str(SHOTS / "tokenizers_1280x720_stepper.png"))
    gpt4o.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "tokenizers_1280x720_production.png"))
    assert_under(rose.locator(".tok-char"), parts)
    assert_no_exception(page, "tokenizers_1280x720", screenshot=False)


def test_paste_before_typing_is_a_hint(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/tokenizers")
    wait_for_app(page, timeout=120_000)
    page.locator(".st-key-tokenizers-source").get_by_text("Paste text").click()
    wait_for_app(page)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_test_id("stAlertContentInfo")).to_contain_text("Paste a text to train on")
    expect(main.get_by_test_id("stAlertContentError")).to_have_count(0)
    assert_no_exception(page, "tokenizers_paste_hint")

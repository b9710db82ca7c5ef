"""A lesson is a link, in a real browser: a link opens the view it names, the address bar follows
the widgets, the share box's link reproduces the view in a second tab, a link sets the
Tokenizers page's widgets and a shipped model, and home's cards open their pages."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

from playwright.sync_api import Page, expect

from lab.catalog import CATALOG
from tests.e2e.helpers import SHOTS, assert_no_exception, wait_for_app

TEXT = "to be or not to be, to be or not"
LESSON = {"layer": "1", "head": "2", "text": TEXT, "temperature": "1.2", "seed": "7"}


def checked(page: Page, key: str) -> str:
    """The label of the radio option that is on, in the widget keyed `key` ("." becomes "-")."""
    group = page.locator(f".st-key-{key.replace('.', '-')}")
    return group.locator("label:has(input:checked)").inner_text()


def expect_lesson(page: Page) -> None:
    """The view LESSON names: layer 1, head 2, the text, temperature 1.2 and seed 7."""
    assert checked(page, "attention.layer") == "layer 1"
    assert checked(page, "attention.head") == "head 2"
    expect(page.locator(".st-key-attention-text textarea")).to_have_value(TEXT)
    expect(page.locator(".st-key-temperature")).to_contain_text("1.20")
    expect(page.locator(".st-key-seed input")).to_have_value("7")


def query(page: Page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(page.url).query).items()}


def test_a_link_opens_its_view_the_share_link_reproduces_it_and_the_address_bar_follows(
    page: Page, app_url: str
) -> None:
    """One opened link, three checks in turn (each once a test opening the same link): the view
    it names, the share box's link opening that view in a second tab, then the address bar
    following the widgets as they change."""
    page.goto(f"{app_url}/attention?{urlencode(LESSON)}")
    wait_for_app(page)
    expect_lesson(page)
    assert_no_exception(page, "links_opened")

    page.locator(".st-key-links-share button").click()
    wait_for_app(page)
    code = page.get_by_test_id("stSidebar").get_by_test_id("stCode")
    expect(code).to_contain_text(f"{app_url}/attention?")  # absolute: a student can open it
    page.screenshot(path=str(SHOTS / "links_share.png"))
    link = code.inner_text().strip()
    assert query_of(link) == LESSON | {"focus": query_of(link)["focus"]}

    second = page.context.new_page()  # a new tab is a new session, as for a student
    second.goto(link)
    wait_for_app(second)
    expect_lesson(second)
    assert_no_exception(second, "links_second_tab")
    second.close()

    # Head is drawn in a fragment, whose rerun skips the router: the page syncs it itself.
    page.locator(".st-key-attention-head").get_by_text("head 3").click()
    wait_for_app(page)
    expect(page).to_have_url(re.compile(r"[?&]head=3"))
    thumb = page.locator(".st-key-temperature").get_by_role("slider")
    thumb.focus()
    thumb.press("ArrowRight")
    wait_for_app(page)
    expect(page.locator(".st-key-temperature")).to_contain_text("1.25")
    assert query(page)["temperature"] == "1.25"
    assert query(page)["head"] == "3" and query(page)["layer"] == "1"  # the link is not re-read


def query_of(link: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(link).query).items()}


def test_a_bad_link_opens_with_a_note(page: Page, app_url: str) -> None:
    bad = {"layer": "99", "head": "-4", "temperature": "nan", "model": "Someone's run"}
    page.goto(f"{app_url}/attention?{urlencode(bad)}")
    wait_for_app(page)
    notes = page.get_by_test_id("stAlert").filter(has_text="could not be followed exactly")
    expect(notes).to_contain_text("another session")
    expect(notes).to_contain_text("temperature was not used")
    assert checked(page, "attention.layer") == "layer 0"  # past this model's 4 layers
    expect(page.locator(".st-key-temperature")).to_contain_text("0.80")
    assert_no_exception(page, "links_bad")


TOKENIZERS_LINK = {
    "vocab_size": "320",
    "presplit": "1",
    "step": "5",
    "text": "hello world",
    "find": "he",
    "model": "Shipped induction model",
}


def test_a_link_opens_the_tokenizers_page_with_its_settings(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/tokenizers?{urlencode(TOKENIZERS_LINK)}")
    wait_for_app(page, timeout=120_000)  # trains a 320-token BPE on Shakespeare first
    vocab, step = (page.locator(f".st-key-tokenizers-{k}") for k in ("vocab_size", "step"))
    expect(vocab.get_by_test_id("stSliderThumbValue")).to_have_text("320")
    expect(page.locator(".st-key-tokenizers-presplit input")).to_be_checked()
    expect(step.get_by_test_id("stSliderThumbValue")).to_have_text("5")
    expect(page.get_by_text("Merge 5 of 64", exact=True)).to_be_visible()  # 320 - 256 merges
    expect(page.locator(".st-key-tokenizers-text textarea")).to_have_value("hello world")
    expect(page.locator(".st-key-tokenizers-query input")).to_have_value("he")
    model = page.locator(".st-key-model_choice").get_by_role("combobox")
    expect(model).to_have_value("Shipped induction model")
    notes = page.get_by_test_id("stAlert").filter(has_text="could not be followed")
    expect(notes).to_have_count(0)  # every value was one the widgets take
    assert query(page) == TOKENIZERS_LINK  # and the address bar keeps the view
    assert_no_exception(page, "links_tokenizers")


def test_home_cards_open_their_pages(page: Page, app_url: str) -> None:
    page.goto(app_url)
    wait_for_app(page)
    cards = page.get_by_test_id("stMain").get_by_test_id("stPageLink").locator("a")
    expect(cards).to_have_count(len(CATALOG) - 1)  # one card per page but home
    hrefs = [urlsplit(a.evaluate("a => a.href")).path for a in cards.all()]  # resolved
    assert hrefs == [f"/{p.name}" for p in CATALOG[1:]]
    page.get_by_test_id("stMain").get_by_role("link", name="Attention").click()
    wait_for_app(page)
    expect(page).to_have_url(re.compile(r"/attention(\?|$)"))
    expect(page.get_by_role("heading", name="Attention").first).to_be_visible()
    assert_no_exception(page, "links_home_card")


def test_switching_pages_keeps_the_sidebar_and_drops_the_old_page(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/attention?{urlencode(LESSON)}")
    wait_for_app(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Positional embeddings").click()
    wait_for_app(page)
    expect(page).to_have_url(re.compile(r"/positional\?"))
    url = query(page)
    assert url["temperature"] == "1.2" and url["seed"] == "7"
    assert "layer" not in url and "text" not in url  # the attention page's settings stay behind
    # The ALiBi head is drawn in a fragment too.
    page.locator(".st-key-positional-alibi_head").get_by_text("head 1").click()
    wait_for_app(page)
    expect(page).to_have_url(re.compile(r"[?&]head=1"))
    assert_no_exception(page, "links_positional")

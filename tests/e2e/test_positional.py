"""The Positional page in a real browser: ALiBi's heads are drawn on one colour scale (the
colour bar keeps its range when the head changes) and the page says so; "Are nearby positions
alike?" names the one shape both its tables have. Screenshots at 1400x2400 and 1280x720."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.helpers import SHOTS, assert_no_exception, wait_for_app


def colour_bar_ticks(page: Page) -> list[str]:
    """The tick labels of the ALiBi heatmap's colour bar, top to bottom."""
    chart = page.get_by_test_id("stPlotlyChart").filter(has_text="ALiBi bias of head")
    return chart.locator(".colorbar .cbaxis text, .colorbar text.ytick").all_inner_texts()


def test_alibi_heads_share_a_scale_and_nearby_positions_match(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/positional")
    wait_for_app(page, timeout=120_000)
    main = page.get_by_test_id("stMain")
    expect(main).to_contain_text("Every head is drawn on one colour scale")
    alibi = page.get_by_test_id("stPlotlyChart").filter(has_text="ALiBi bias of head 0")
    alibi.scroll_into_view_if_needed()
    expect(alibi.locator(".main-svg").first).to_be_visible()
    first = colour_bar_ticks(page)
    assert first, "the ALiBi heatmap has a colour bar"
    page.screenshot(path=str(SHOTS / "positional_alibi_head0.png"))

    page.locator(".st-key-positional-alibi_head").get_by_text("head 3").click()
    wait_for_app(page)
    expect(
        page.get_by_test_id("stPlotlyChart").filter(has_text="ALiBi bias of head 3")
    ).to_have_count(1)
    assert colour_bar_ticks(page) == first  # the same scale for a gentler head
    page.screenshot(path=str(SHOTS / "positional_alibi_head3.png"))

    nearby = page.get_by_test_id("stPlotlyChart").filter(has_text="Are nearby positions alike?")
    if nearby.count():  # only a model with a learned table draws it (the shipped one does)
        names = nearby.locator(".legendtext").all_text_contents()
        assert len(names) == 2 and all("×" in name for name in names), names
        assert len({name.split("(")[1] for name in names}) == 1, names  # one shape for both
        expect(main).to_contain_text("whatever the sliders above say")

    page.set_viewport_size({"width": 1280, "height": 720})
    wait_for_app(page)
    page.get_by_test_id("stPlotlyChart").filter(
        has_text="ALiBi bias of head 3"
    ).scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "positional_alibi_1280x720.png"))
    assert_no_exception(page, "positional_alibi", screenshot=False)

"""Projector-safe: at a classroom projector's sizes no text on any page is cut off.

A text is cut off when the box that holds it is narrower than the text and clips it (overflow
hidden or clip, often with an ellipsis). Scrollable boxes (code, wide tables) are not cut off: a
person can scroll them. st.dataframe draws its cells on a canvas, so its headers are checked
from the grid's column widths against the header text measured in the grid's font, and a grid
wider than its box (a header scrolled out of sight) counts as cut off. Plotly charts clip at
their SVG's edges, so a chart title or legend running past them is cut off too.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from lab.catalog import CATALOG
from tests.e2e.helpers import assert_no_exception, wait_for_app

SIZES = [(1024, 768), (1280, 720)]

# Every element whose own text overflows a box that clips it; one line per finding.
CUT_TEXT_JS = """
() => {
  const found = [];
  const clips = (s) => ["hidden", "clip"].includes(s.overflowX) || s.textOverflow === "ellipsis";
  for (const el of document.querySelectorAll("[data-testid='stMain'] *, [data-testid='stSidebar'] *")) {
    const text = (el.innerText || "").trim();
    if (!text || el.clientWidth === 0) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    if (el.closest("[data-testid='stDataFrame'], [data-testid='stPlotlyChart'], " +
                   "[data-testid='stVegaLiteChart'], [data-testid='stCode'], [role='tooltip']")) continue;
    if (!clips(style)) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      found.push(`${el.tagName.toLowerCase()}.${el.dataset.testid || el.className || ""}: ` +
                 `"${text.slice(0, 60)}" needs ${el.scrollWidth}px, has ${el.clientWidth}px`);
    }
  }
  // A multiselect keeps its chips on one line that scrolls under a fade: chips out of sight.
  for (const tags of document.querySelectorAll("[data-testid='stMultiSelectTagsContainer']")) {
    if (tags.scrollWidth > tags.clientWidth + 1) {
      found.push(`multiselect chips "${tags.innerText.replace(/\\n/g, ", ").slice(0, 60)}" ` +
                 `need ${tags.scrollWidth}px, have ${tags.clientWidth}px`);
    }
  }
  // A selectbox shows its choice in an input, as a number input its number: measure the text
  // in the input's own font.
  const ctx = document.createElement("canvas").getContext("2d");
  const inputs = "[data-testid='stSelectbox'] input, [data-testid='stNumberInput'] input";
  for (const input of document.querySelectorAll(inputs)) {
    if (input.clientWidth === 0) continue;  // in a tab not shown
    const s = getComputedStyle(input);
    ctx.font = s.font;
    const room = input.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    const needs = ctx.measureText(input.value).width;
    if (input.value && needs > room + 1) {
      found.push(`input "${input.value.slice(0, 60)}" needs ${Math.ceil(needs)}px, has ${Math.floor(room)}px`);
    }
  }
  return found;
}
"""

# st.dataframe headers: glide-data-grid lays out an accessible table over its canvas; each
# header cell's width is its column's, and the header text is measured in the grid's font.
CUT_HEADERS_JS = """
() => {
  const found = [];
  const ctx = document.createElement("canvas").getContext("2d");
  for (const grid of document.querySelectorAll("[data-testid='stDataFrame']")) {
    const canvas = grid.querySelector("canvas");
    const font = canvas ? getComputedStyle(canvas).font : "14px sans-serif";
    ctx.font = `600 ${font.replace(/^.*?(\\d+(\\.\\d+)?px)/, "$1")}`;
    for (const th of grid.querySelectorAll("th[role='columnheader']")) {
      const text = (th.innerText || th.textContent || "").trim();
      const width = th.getBoundingClientRect().width;
      if (!text || width === 0) continue;
      const needs = ctx.measureText(text).width + 2 * 8 + 20; // padding and a sort/menu icon
      if (needs > width + 1) found.push(`dataframe header "${text}" needs ${Math.ceil(needs)}px, has ${Math.floor(width)}px`);
    }
    const scroller = grid.querySelector(".dvn-scroller");
    if (scroller && scroller.scrollWidth > scroller.clientWidth + 1) {
      const head = [...grid.querySelectorAll("th")].map((th) => th.textContent.trim()).join(", ");
      found.push(`dataframe [${head.slice(0, 60)}] needs ${scroller.scrollWidth}px, has ${scroller.clientWidth}px`);
    }
  }
  return found;
}
"""

# Plotly draws into an SVG that clips: a title, legend or annotation reaching past its edges is
# cut off.
CUT_CHART_TEXT_JS = """
() => {
  const found = [];
  for (const chart of document.querySelectorAll("[data-testid='stPlotlyChart']")) {
    const svg = chart.querySelector(".main-svg");
    if (!svg) continue;
    const box = svg.getBoundingClientRect();
    if (box.width === 0) continue;
    for (const t of chart.querySelectorAll(".main-svg text")) {
      const r = t.getBoundingClientRect();
      const text = (t.textContent || "").trim();
      if (!text || r.width === 0) continue;
      if (r.right > box.right + 1 || r.left < box.left - 1) {
        found.push(`chart text "${text.slice(0, 60)}" runs ${Math.ceil(Math.max(r.right - box.right, box.left - r.left))}px past its chart`);
      }
    }
  }
  return found;
}
"""


# Titles side by side (a subplot's title is an annotation) run into each other when their panels
# are narrower than they are: each pair of a chart's titles and annotations that overlap.
OVERLAPPING_TITLES_JS = """
() => {
  const found = [];
  for (const chart of document.querySelectorAll("[data-testid='stPlotlyChart']")) {
    // Titles and annotations against each other and against the bars' value labels (two
    // value labels never meet: each sits on its own row).
    const texts = [...chart.querySelectorAll(
      ".main-svg text.annotation-text, .main-svg text.gtitle, .main-svg text.bartext")]
      .map((t) => [(t.textContent || "").trim(), t.getBoundingClientRect(),
                   t.classList.contains("bartext")])
      .filter(([text, r]) => text && r.width > 0);
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        if (texts[i][2] && texts[j][2]) continue;
        const [a, ra] = texts[i], [b, rb] = texts[j];
        const x = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
        const y = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
        if (x > 1 && y > 1) found.push(`chart texts "${a.slice(0, 40)}" and "${b.slice(0, 40)}" overlap by ${Math.ceil(x)}px`);
      }
    }
  }
  return found;
}
"""


def cut_off(page: Page) -> list[str]:
    """Every piece of text the page shows cut off or run into another, as sentences."""
    return (
        page.evaluate(CUT_TEXT_JS)
        + page.evaluate(CUT_HEADERS_JS)
        + page.evaluate(CUT_CHART_TEXT_JS)
        + page.evaluate(OVERLAPPING_TITLES_JS)
    )


def _look(page: Page, name: str, size: tuple[int, int]) -> list[str]:
    """Cut text at the projector's size, then again in a tall window of the same width (the
    main area scrolls inside itself, so only a tall window shows the whole page in one
    screenshot, and draws what lies below the fold). Each finding names the size."""
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.wait_for_timeout(500)  # charts follow a resize on their next frame
    found = cut_off(page)
    page.set_viewport_size({"width": size[0], "height": 3000})
    page.wait_for_timeout(500)
    assert_no_exception(page, f"projector_{name}_{size[0]}x{size[1]}")
    found += cut_off(page)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    return [f"{size[0]}x{size[1]} {finding}" for finding in sorted(set(found))]


def _look_at_every_size(page: Page, name: str) -> list[str]:
    """One opened page, looked at in each size in turn: Streamlit lays a page out in the
    browser (the server never learns the window's size), so a resized page is the page a
    fresh load at that size draws, without paying for the load and its script run again."""
    return [finding for size in SIZES for finding in _look(page, name, size)]


@pytest.mark.parametrize("name", [p.name for p in CATALOG])
def test_no_text_is_cut_off(page: Page, app_url: str, name: str) -> None:
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    url = next(p.url for p in CATALOG if p.name == name)
    page.goto(f"{app_url}/{url}")
    wait_for_app(page, timeout=120_000)
    found = _look_at_every_size(page, name)
    if name == "compare":  # the live view too: its table and chips
        page.get_by_role("tab", name="Run it yourself").click()
        wait_for_app(page)
        found += _look_at_every_size(page, "compare_yours")
    assert not found, "\n".join(found)


def test_training_after_a_short_run_is_not_cut_off(page: Page, app_url: str) -> None:
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    page.goto(f"{app_url}/training")
    wait_for_app(page, timeout=120_000)
    page.locator(".st-key-training-start button").click()
    label = page.get_by_test_id("stMetricLabel").get_by_text("Step", exact=True)
    step = page.get_by_test_id("stMetric").filter(has=label).get_by_test_id("stMetricValue")
    expect(step).to_be_visible(timeout=60_000)
    first = step.inner_text()
    expect(step).not_to_have_text(first, timeout=30_000)
    page.locator(".st-key-training-stop button").click()
    expect(page.get_by_text("is stopped at step")).to_be_visible(timeout=15_000)
    wait_for_app(page)
    found = _look_at_every_size(page, "training_run")
    assert not found, "\n".join(found)


def test_the_checker_sees_cut_text(page: Page, app_url: str) -> None:
    """The check itself: a box narrower than its text, clipped with an ellipsis, is found."""
    page.goto(app_url)
    wait_for_app(page)
    page.evaluate(
        """() => {
        const d = document.createElement("div");
        d.style.cssText = "width:40px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap";
        d.textContent = "Validation loss";
        document.querySelector("[data-testid='stMain']").appendChild(d);
    }"""
    )
    assert any("Validation loss" in f for f in cut_off(page))


def test_the_checker_sees_titles_run_into_each_other(page: Page, app_url: str) -> None:
    """Two annotations written over each other in a chart Home draws are found."""
    page.goto(app_url)
    wait_for_app(page)
    expect(page.get_by_test_id("stPlotlyChart").first.locator(".main-svg").first).to_be_visible()
    assert not page.evaluate(OVERLAPPING_TITLES_JS)
    page.evaluate(
        """() => {
        const svg = document.querySelector("[data-testid='stPlotlyChart'] .main-svg");
        for (const [x, words] of [[40, "1. the model's odds"], [90, "2. after temperature"]]) {
            const t = document.createElementNS("http://www.w3.org/2000/svg", "text");
            t.setAttribute("class", "annotation-text");
            t.setAttribute("x", x);
            t.setAttribute("y", 20);
            t.textContent = words;
            svg.appendChild(t);
        }
    }"""
    )
    assert any("overlap" in f for f in cut_off(page))

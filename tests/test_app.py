"""The app as a whole: the router, every page alone, the shared sidebar, and the layering rule."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lab.catalog import CATALOG
from tests.apptest import ROOT, errors, run_page, run_router

PAGES = sorted(p.stem for p in (ROOT / "pages").glob("*.py"))


def test_router_opens_home_with_the_sidebar():
    at = run_router()
    assert not errors(at)
    assert at.title[0].value == "minigpt lab"
    assert at.sidebar.slider(key="temperature").value == 0.8


@pytest.mark.parametrize("page", [p for p in PAGES if p != "home"])  # home links need the router
def test_every_page_runs_alone(page):
    at = run_page(page)
    assert not errors(at), errors(at)
    assert at.title, f"pages/{page}.py shows no title"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_through_the_router(page):
    at = run_router(page)
    assert not errors(at), errors(at)


def test_every_page_is_in_the_navigation():
    # The router builds its navigation from the catalog: every file in pages/ must be in it.
    assert sorted(PAGES) == sorted(page.name for page in CATALOG)
    assert all(page.path.is_file() for page in CATALOG)


def test_sidebar_values_survive_a_page_switch():
    at = run_router()
    at.sidebar.slider(key="temperature").set_value(1.5).run()
    at.switch_page("../pages/attention.py").run()
    assert not errors(at)
    assert at.sidebar.slider(key="temperature").value == 1.5


def test_sampling_settings_reach_the_generate_box():
    at = run_router()
    shown = [c.value for c in at.code]
    at.sidebar.number_input(key="seed").set_value(7).run()
    assert not errors(at)
    assert [c.value for c in at.code] != shown  # another seed, another continuation


BANNED = {"streamlit", "plotly", "altair", "pandas", "lab", "pages", "matplotlib"}


@pytest.mark.parametrize("path", sorted((ROOT / "minigpt").glob("*.py")), ids=lambda p: p.name)
def test_the_core_never_imports_ui_or_plotting(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            assert name.split(".")[0] not in BANNED, f"{path.name} imports {name}"


@pytest.mark.parametrize("path", sorted((ROOT / "pages").glob("*.py")), ids=lambda p: p.name)
def test_pages_stay_thin(path: Path):
    source = path.read_text()
    for banned in ("torch.nn", "torch.optim", ".backward(", "st.cache_", "st.session_state"):
        assert banned not in source, f"{path.name} uses {banned}: move it into minigpt/ or lab/"

"""Modules stay small enough to read in one sitting: no .py file in the project is over
MAX_LINES lines (tests and benchmarks included). A file that outgrows it is split along a seam
it already has, not trimmed of its docstrings."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("minigpt", "lab", "pages", "benchmarks", "tests")
MAX_LINES = 320  # "about 300": a little room so a short addition does not force a split


def line_count(path: Path) -> int:
    """Example: a file holding "a\\nb\\n" has 2 lines, as `wc -l` counts them."""
    return len(path.read_text(encoding="utf-8").splitlines())


def python_files() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py"))


def test_the_walk_finds_the_project_files():
    files = {p.relative_to(ROOT).as_posix() for p in python_files()}
    assert {"minigpt/model.py", "lab/app.py", "pages/home.py", "tests/test_layout.py"} <= files
    assert "benchmarks/__main__.py" in files


def test_no_module_is_over_the_line_limit():
    long = {
        p.relative_to(ROOT).as_posix(): n
        for p in python_files()
        if (n := line_count(p)) > MAX_LINES
    }
    assert long == {}, f"over {MAX_LINES} lines, split along a seam: {long}"

"""The import graph keeps the architecture: pages -> lab -> minigpt, and no cycles.

Read from the source with ast (nothing is imported), so a banned or circular import fails here
before it can break a page at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("minigpt", "lab", "pages")
BANNED = {
    "minigpt": ("lab", "pages", "streamlit", "plotly", "altair"),
    "lab": ("pages",),
}


def module_name(path: Path) -> str:
    """minigpt/training/data.py -> "minigpt.training.data"; a package's __init__ is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module name a file imports, relative imports resolved, at any depth in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # `from lab import cache` imports the module lab.cache, not just the package
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (third-party names kept apart below)."""
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    modules = {module_name(p): p for p in files}
    return {
        name: {m for m in imports_of(p) if m in modules and m != name}
        for name, p in modules.items()
    }


def test_the_graph_walker_sees_a_known_edge():
    g = graph()
    assert "minigpt.model" in g["minigpt"] or "minigpt.model" in g.get("minigpt.sampling", set())
    assert "lab.state" in g["lab.sidebar"]


@pytest.mark.parametrize("package", sorted(BANNED))
def test_no_package_imports_what_sits_above_it(package):
    bad = []
    for path in (ROOT / package).rglob("*.py"):
        for imported in imports_of(path):
            top = imported.split(".")[0]
            if top in BANNED[package]:
                bad.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert bad == []


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first walk (each reported once, from where it was entered)."""
    found, state = [], {}  # state: 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(g.get(node, ())):
            # A package's __init__ importing its own sub-modules is how packages work: skip it.
            if node == nxt.rpartition(".")[0] or nxt == node.rpartition(".")[0]:
                continue
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    assert cycles(graph()) == []


def fragment_calls(path: Path) -> list[int]:
    """Lines where a file uses `st.fragment` (called, or as a decorator)."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute)
        and node.attr == "fragment"
        and isinstance(node.value, ast.Name)
        and node.value.id == "st"
    ]


def test_fragments_take_page_turns():
    """A fragment's rerun skips the router's page turn, so every fragment goes through
    lab/fragments.py, whose runs take one (lab/engine/turns.py)."""
    files = [p for pkg in ("lab", "pages") for p in (ROOT / pkg).rglob("*.py")]
    plain = {
        str(p.relative_to(ROOT)): lines
        for p in files
        if p != ROOT / "lab" / "fragments.py" and (lines := fragment_calls(p))
    }
    assert plain == {}
    assert fragment_calls(ROOT / "lab" / "fragments.py")  # the walker sees the one use


def test_the_fragment_finder_sees_both_forms(tmp_path: Path):
    sample = tmp_path / "page.py"
    sample.write_text("import streamlit as st\n\n@st.fragment\ndef f(): ...\n\nst.fragment(f)()\n")
    assert fragment_calls(sample) == [3, 6]

"""The panel layout the lab's charts compute by hand, against plotly's own make_subplots."""

from __future__ import annotations

import pytest
from plotly.subplots import make_subplots

from lab.charts.common import axis_suffix, grid_cells, panel_title


@pytest.mark.parametrize(
    ("rows", "cols", "h_gap", "v_gap"),
    [
        (1, 1, 0.2, 0.3),
        (1, 4, 0.03, 0.0),
        (2, 2, 0.03, 0.04),
        (3, 4, 0.03, 0.08 / 3),
        (2, 3, 0.1, 0.2),
    ],
)
def test_grid_cells_and_titles_are_where_make_subplots_puts_them(rows, cols, h_gap, v_gap) -> None:
    titles = [f"panel {i}" for i in range(rows * cols)]
    oracle = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=titles,
        horizontal_spacing=h_gap,
        vertical_spacing=v_gap,
    )
    cells = grid_cells(rows, cols, h_gap, v_gap)
    assert len(cells) == rows * cols
    for i, (x_domain, y_domain) in enumerate(cells):
        suffix = axis_suffix(i)
        assert oracle.layout[f"xaxis{suffix}"].anchor == f"y{suffix}"  # plotly's own naming
        assert list(oracle.layout[f"xaxis{suffix}"].domain) == pytest.approx(x_domain)
        assert list(oracle.layout[f"yaxis{suffix}"].domain) == pytest.approx(y_domain)
        expected = oracle.layout.annotations[i].to_plotly_json()
        mine = panel_title(titles[i], x_domain, y_domain)
        assert mine.keys() == expected.keys()
        assert mine.pop("x") == pytest.approx(expected.pop("x"))
        assert mine.pop("y") == pytest.approx(expected.pop("y"))
        assert mine == expected

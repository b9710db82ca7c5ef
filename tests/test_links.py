"""A link's values are untrusted: every parser clamps or refuses, and what a page writes reads back.

Pure tests of lab/engine/links.py and of the params each page declares (no Streamlit run).
"""

from __future__ import annotations

import math

import pytest

from lab import links as page_links
from lab.catalog import CATALOG
from lab.engine import links

HOSTILE = [
    "",
    " ",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "-1",
    "9" * 400,
    "0x10",
    "1,2,3",
    "[1]",
    "true",
    "None",
    "\x00",
    "é" * 5000,
    "<script>alert(1)</script>",
    "%00%ff",
    "\U0001f339",
    "3.7",
    "-0",
]


def test_numbers_are_clamped_into_the_widgets_range():
    temperature = links.real(0.0, 2.0)
    assert temperature("1.2") == 1.2
    assert temperature("9").value == 2.0  # a Clamped: used, with a reason
    assert "outside 0 to 2" in temperature("9").why
    assert temperature("-3").value == 0.0
    top_k = links.integer(0, 100)
    assert top_k("40") == 40 and type(top_k("40")) is int
    assert top_k("1e3").value == 100
    assert top_k("4.0") == 4


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "1e309", "abc", "", "0x10", "4.5"])
def test_numbers_that_are_not_finite_whole_numbers_are_refused(raw):
    with pytest.raises(links.LinkValueError):
        links.integer(0, 100)(raw)


def test_text_is_cut_to_its_cap():
    parse = links.text(2_000)
    assert parse("hello\nworld") == "hello\nworld"
    cut = parse("x" * 10_000)
    assert cut.value == "x" * 2_000 and "2,000" in cut.why


def test_choices_flags_and_lists():
    assert links.choice((1, 2, 3))("2") == 2
    with pytest.raises(links.LinkValueError):
        links.choice(("loss", "perplexity"))("LOSS")
    assert links.flag("1") is True and links.flag("false") is False
    with pytest.raises(links.LinkValueError):
        links.flag("yes please")
    assert links.int_list(0, 255, 8)("0,1,8,8") == [0, 1, 8]
    assert links.int_list(0, 255, 8)("") == []
    assert links.int_list(0, 255, 3)("1,2,3,4,5").value == [1, 2, 3]
    with pytest.raises(links.LinkValueError):
        links.int_list(0, 255, 8)("0,999")
    assert links.subset(("learned", "rope", "alibi"))("alibi,rope") == ["rope", "alibi"]
    with pytest.raises(links.LinkValueError):
        links.subset(("learned", "rope"))("rope,banana")


def test_read_ignores_unknown_names_and_explains_each_refusal():
    params = (
        links.Param("temperature", "temperature", links.real(0.0, 2.0), 0.8),
        links.Param("top_k", "top_k", links.integer(0, 100), 0),
        links.Param("model", "model", links.choice(["Shipped"]), note="Shipped model instead."),
    )
    values, notes = links.read(
        params, {"temperature": "5", "top_k": "many", "model": "mine", "bogus": "1"}
    )
    assert values == {"temperature": 2.0}  # clamped; top_k and model left to their defaults
    assert len(notes) == 3
    assert "adjusted" in notes[0] and "top_k" in notes[1] and notes[2] == "Shipped model instead."


def test_write_leaves_out_defaults_and_values_a_link_cannot_carry():
    params = (
        links.Param("temperature", "temperature", links.real(0.0, 2.0), 0.8),
        links.Param("source", "source", links.choice(["Shakespeare"]), "Shakespeare"),
        links.Param("layer", "layer", links.integer(0, 63)),
        links.Param("focus", "focus", links.integer(0, 10)),
    )
    session = {"temperature": 0.8 + 1e-12, "source": "Upload a file", "layer": 3, "focus": None}
    assert links.write(params, session) == {"layer": "3"}
    # A slider's float travels with six digits and still reads back as the same setting.
    assert links.write(params, {"temperature": 1.2000000000000002}) == {"temperature": "1.2"}


@pytest.mark.parametrize("page", [p.name for p in CATALOG])
def test_every_page_names_each_value_once(page):
    params = page_links.params(page)
    names = [p.name for p in params]
    keys = [p.key for p in params]
    assert len(set(names)) == len(names), names
    assert len(set(keys)) == len(keys), keys
    assert page in page_links.PAGE_LINKS  # a page added to the catalog must declare its link


@pytest.mark.parametrize("page", [p.name for p in CATALOG])
def test_hostile_values_never_raise_anything_but_a_refusal(page):
    for raw in HOSTILE:
        query = {p.name: raw for p in page_links.params(page)}
        values, notes = links.read(page_links.params(page), query)
        for param in page_links.params(page):
            if param.key in values:  # whatever got through reads back as itself
                back = param.parse(links.to_text(values[param.key]))
                assert not isinstance(back, links.Clamped)
                if isinstance(back, float):
                    assert math.isfinite(back)
        assert all(isinstance(n, str) and n for n in notes)
        assert all(len(v) <= 3_000 for v in values.values() if isinstance(v, str))


@pytest.mark.parametrize("page", [p.name for p in CATALOG])
def test_defaults_read_back_as_themselves(page):
    for param in page_links.params(page):
        if not param.has_default:
            continue
        back = param.parse(links.to_text(param.default))
        assert not isinstance(back, links.Clamped), param
        assert back == param.default, param

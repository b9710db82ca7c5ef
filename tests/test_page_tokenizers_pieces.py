"""Tokens as the Tokenizers page draws them (lab/tokenizers/pieces.py): a character split across
byte tokens is one group, unknown characters stay in place and are counted, special tokens are
one id each; and the page showing all three."""

import pytest

from lab.tokenizers import pieces
from lab.tokenizers import state as tok_state
from lab.tokenizers import tokens as tokens_view
from lab.tokenizers.pieces import Piece
from minigpt.tokenizers.production import tiktoken_encoding
from minigpt.tokenizers.tokenizer import CharTokenizer
from tests.apptest import errors, run_page
from tests.tokenizers_page import paste, shown

CL100K, O200K = pieces.PRODUCTION
EAST = "東"  # three UTF-8 bytes, e6 9d b1; cl100k_base cuts them into two tokens


@pytest.fixture(scope="module")
def encodings():
    return {name: tiktoken_encoding(name) for name in pieces.PRODUCTION}


def test_a_character_split_across_byte_tokens_is_one_group(encodings):
    tokens = pieces.production_pieces(encodings[CL100K], EAST + "!")
    assert [p.raw for p in tokens] == [b"\xe6\x9d", b"\xb1", b"!"]
    (east, bang) = pieces.groups(tokens)
    assert len(east) == 2 and pieces.group_text(east) == EAST and bang == [tokens[2]]
    drawn = tokens_view.tokens_html(tokens)
    assert drawn.count('class="tok-group"') == 1
    assert f'class="tok-char">{EAST}</span>' in drawn  # the character, once
    assert ">\\xe6\\x9d</span>" in drawn and ">\\xb1</span>" in drawn  # each token's bytes
    assert drawn.count('class="tok-bytes"') == 2
    # o200k_base has 東 as one token: nothing to group
    whole = pieces.production_pieces(encodings[O200K], EAST)
    assert [p.raw for p in whole] == [EAST.encode()] and "tok-group" not in tokens_view.tokens_html(
        whole
    )


def test_groups_cut_only_at_character_boundaries():
    # a token may end a character and start the next: they all read together, as one group
    raw = [b"a\xf0", b"\x9f\x8c", b"\xb9 \xe6", b"\x9d\xb1", b"b"]
    tokens = pieces.byte_pieces(range(len(raw)), raw.__getitem__)
    assert [len(g) for g in pieces.groups(tokens)] == [4, 1]
    assert pieces.group_text(pieces.groups(tokens)[0]) == "a🌹 東"
    # pieces without bytes (characters) are never grouped
    assert [len(g) for g in pieces.groups(pieces.pieces([1, 2], chr))] == [1, 1]


def test_unknown_characters_stay_in_place_and_count():
    chars = CharTokenizer.train("add a, b) then add b, a) ")  # no "(" in its corpus
    tokens = pieces.char_pieces(chars, "add(a, b)")
    assert "".join(p.text for p in tokens) == "add(a, b)" and len(tokens) == 9
    assert pieces.count_unknown(tokens) == 1 and tokens[3] == Piece(None, "(", pieces.UNKNOWN)
    drawn = tokens_view.tokens_html(tokens)
    assert drawn.count('class="tok-unknown"') == 1 and ">unknown</span>" in drawn


def test_special_tokens_are_one_id_each(encodings):
    for name, eot in [(CL100K, 100257), (O200K, 199999)]:
        tokens = pieces.production_pieces(encodings[name], "Hello<|endoftext|>world")
        assert len(tokens) == 3 and tokens[1] == Piece(
            eot, "<|endoftext|>", pieces.SPECIAL, b"<|endoftext|>"
        )
        assert [p.kind for p in tokens] == [pieces.TEXT, pieces.SPECIAL, pieces.TEXT]
        assert 'class="tok-special"' in tokens_view.tokens_html(tokens)
    assert pieces.production_vocab(CL100K) == (100_256, 5)
    assert pieces.production_vocab(O200K) == (199_998, 2)


def column_of(at, title: str):
    """The part-3 column whose heading is `title`: (token count shown, its tokens' HTML)."""
    for col in at.columns:
        found = [c for c in col.children.values() if type(c).__name__ in ("Markdown", "Html")]
        if found and found[0].value == f"**{title}**":
            (metric,) = [c for c in col.children.values() if type(c).__name__ == "Metric"]
            (drawn,) = [c for c in found if type(c).__name__ == "Html"]
            return metric.value, drawn.value
    raise AssertionError(f"no column {title!r}")


@pytest.fixture(scope="module")
def split_page():
    at = run_page("tokenizers")
    at.text_area(key=tok_state.TOK_TEXT).input(f"{EAST} 🌹 Hello<|endoftext|>world").run()
    return at


def test_page_shows_split_characters_over_their_bytes(split_page):
    assert errors(split_page) == []
    stepper = split_page.html[0].value
    assert f'class="tok-char">{EAST}</span>' in stepper and 'class="tok-char">🌹</span>' in stepper
    for title in ["Your BPE", "GPT-4 (cl100k_base)"]:
        _, drawn = column_of(split_page, title)
        assert f'class="tok-char">{EAST}</span>' in drawn, title
    _, gpt4 = column_of(split_page, "GPT-4 (cl100k_base)")
    assert ">\\xe6\\x9d</span>" in gpt4 and ">\\xf0\\x9f</span>" in gpt4


def test_page_shows_special_tokens_in_both_production_columns(split_page):
    for title, eot in [("GPT-4 (cl100k_base)", 100257), ("GPT-4o (o200k_base)", 199999)]:
        _, drawn = column_of(split_page, title)
        assert f'title="id {eot} · special token' in drawn and 'class="tok-special"' in drawn
    _, ours = column_of(split_page, "Your BPE")  # to the other two, ordinary text
    assert "tok-special" not in ours


def test_page_marks_and_counts_unknown_characters():
    at = paste("add a, b) then add b, a) and so on, add them all) " * 3)
    at.text_area(key=tok_state.TOK_TEXT).input("add(a, b)").run()
    assert errors(at) == []
    count, drawn = column_of(at, "Characters")
    assert count == "9" and drawn.count('class="tok-unknown"') == 1
    assert "1 character of this text has no id here, as the corpus never had it (()" in shown(at)
    assert "counted" in shown(at)


def test_the_tokenized_text_sits_beside_the_stepper():
    at = run_page("tokenizers")

    def holds(node, test) -> bool:
        children = getattr(node, "children", {}) or {}
        return test(node) or any(holds(c, test) for c in children.values())

    def is_next(node) -> bool:
        return type(node).__name__ == "Button" and node.key == tok_state.TOK_NEXT

    rows = [c for c in at.main.children.values() if getattr(c, "type", "") == "flex_container"]
    (row,) = [r for r in rows if holds(r, is_next)]
    left, right = row.children.values()
    assert holds(left, is_next)
    assert (
        type(right.children[0]).__name__ == "Html" and right.children[0].value == at.html[0].value
    )

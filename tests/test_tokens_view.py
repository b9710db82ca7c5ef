"""The Tokenizers page's pure builders (lab/tokenizers/tokens.py): visible whitespace, escaped
coloured tokens, the token count after every merge, ties, and the vocabulary table."""

import pytest

from lab.engine.views import visible
from lab.tokenizers import pieces
from lab.tokenizers import tokens as tokens_view
from lab.tokenizers.pieces import Piece
from minigpt.tokenizers.bpe import GPT4_SPLIT_PATTERN, BPETokenizer, merge_pair, pair_counts


def test_visible_marks_whitespace():
    assert visible("a b\n\tc\r") == "a␣b↵⇥c\\r"  # the one renderer every page uses
    assert tokens_view.merge_label(" ", "t", " t") == "'␣' + 't' -> '␣t'"
    assert tokens_view.merge_label("\n", "\n") == "'↵' + '↵'"


def test_tokens_html_escapes_and_shows_whitespace():
    page = tokens_view.tokens_html(
        [Piece(60, "<"), Piece(300, "a&b"), Piece(62, ">"), Piece(32, " "), Piece(10, "\n")]
    )
    assert ">&lt;</span>" in page and ">&gt;</span>" in page and ">a&amp;b</span>" in page
    assert "a&b" not in page and "><<" not in page
    assert 'title="id 300' in page and 'title="id 32' in page
    assert ">␣</span>" in page and ">↵</span>\n" in page  # a newline is marked, still breaks


def test_tokens_html_titles_are_escaped_and_highlight_outlines():
    page = tokens_view.tokens_html([Piece(1, '"><b>x'), Piece(7, "y")], highlight=7)
    assert "<b>" not in page
    assert page.count("outline:") == 1


def test_tokens_html_draws_at_most_limit():
    page = tokens_view.tokens_html([Piece(i % 256, "x") for i in range(50)], limit=10)
    assert page.count("title=") == 10
    assert tokens_view.cut_note(50, limit=10).strip().startswith("Only the first 10 of 50")
    assert tokens_view.cut_note(10, limit=10) == ""
    assert "(no tokens)" in tokens_view.tokens_html([])


@pytest.fixture(scope="module", params=[None, GPT4_SPLIT_PATTERN], ids=["no-split", "gpt4-split"])
def small_bpe(request):
    text = "the cat sat on the mat; aaaa aaa the hat 🙂🙂 that, then thee\n\tthere " * 20
    return BPETokenizer.train(text, 300, pattern=request.param)


@pytest.mark.parametrize(
    "sample", ["the theme of the mat", "aaaaaaa hat\n\tthe 🙂🙂🙂", "xyz", "", "<thé> & 'a'"]
)
def test_curve_and_steps_match_encoding_at_every_step(small_bpe, sample):
    counts = tokens_view.tokens_per_step(small_bpe.encode(sample), small_bpe.merges)
    assert len(counts) == len(small_bpe.merges) + 1
    expected = [small_bpe.encode(sample, n_merges=k) for k in range(len(counts))]
    assert counts == [len(ids) for ids in expected]
    full = small_bpe.encode(sample)
    assert [
        tokens_view.ids_after(full, small_bpe.merges, k) for k in range(len(counts))
    ] == expected
    assert counts[0] == len(sample.encode("utf-8"))


def test_curve_figure_marks_the_step():
    fig = tokens_view.curve_figure([10, 8, 5], 10, 1)
    assert list(fig.data[0].y) == [10, 8, 5]
    assert list(fig.data[1].y) == [1.0, 1.25, 2.0]
    markers = [t for t in fig.data if t.mode == "markers"]
    assert [(t.x[0], t.y[0]) for t in markers] == [(1, 8), (1, 1.25)]


def test_tied_later_lists_only_pairs_that_really_tied():
    text = "ab ab cd cd ef ef xy aab"
    tok = BPETokenizer.train(text, 270)
    merges = tok.merges
    checked = 0
    for index, chosen in enumerate(merges):
        ids = list(text.encode())
        for m in merges[:index]:
            ids = merge_pair(ids, m.pair, m.new_id)
        counts = pair_counts(ids)
        assert chosen.ties == sum(c == chosen.count for p, c in counts.items() if p != chosen.pair)
        for m in tokens_view.tied_later(merges, index):
            assert counts[m.pair] == chosen.count
            checked += 1
    assert checked > 0


def test_vocab_table_filters_and_lists_newest_first():
    tok = BPETokenizer.train("the the the then there they " * 5, 266)
    table = tokens_view.vocab_table(tok.merges, 4, tok.token_str)
    assert len(table) == 256 + 4
    assert table["id"].iloc[0] == tok.merges[3].new_id
    spaced = tokens_view.vocab_table(tok.merges, 10, tok.token_str, query=" t")
    assert len(spaced) > 0 and all("␣t" in t for t in spaced["token"])
    assert spaced.equals(tokens_view.vocab_table(tok.merges, 10, tok.token_str, query="␣t"))
    by_id = tokens_view.vocab_table(tok.merges, 10, tok.token_str, query="104")
    assert 104 in set(by_id["id"])


def test_id_list_and_pieces():
    assert pieces.pieces([104, 105], chr) == [Piece(104, "h"), Piece(105, "i")]
    assert tokens_view.id_list([Piece(1, "a"), Piece(2, "b"), Piece(3, "c")], limit=2) == "1, 2, …"
    assert tokens_view.id_list([Piece(1, "a"), Piece(None, "(", pieces.UNKNOWN)]) == "1, ?"

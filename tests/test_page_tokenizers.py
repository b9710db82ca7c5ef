"""The Tokenizers page: runs alone and through the router, steps through merges, refuses bad
input with a message; and the pure builders behind it (lab/tokenizers/)."""

import pytest

from lab.engine.views import visible
from lab.tokenizers import pieces
from lab.tokenizers import state as tok_state
from lab.tokenizers import tokens as tokens_view
from lab.tokenizers.pieces import Piece
from minigpt.tokenizers.bpe import GPT4_SPLIT_PATTERN, BPETokenizer, merge_pair, pair_counts
from minigpt.tokenizers.production import tiktoken_encoding
from minigpt.tokenizers.tokenizer import CharTokenizer
from minigpt.training.corpus import CorpusError, decode_upload, shakespeare_text
from tests.apptest import errors, run_page, run_router

# ---------------------------------------------------------------- pure builders


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


# ------------------------------------------------------------------ the page (AppTest)


def shown(at):
    """Everything the page says in messages, as one lower-cased string."""
    return " ".join(m.value for m in [*at.error, *at.warning, *at.info]).lower()


@pytest.fixture(scope="module")
def page():
    return run_page("tokenizers")


def test_page_runs_alone(page):
    assert errors(page) == []
    assert page.title[0].value == "Tokenizers"
    assert len(page.get("plotly_chart")) == 1
    assert len(page.html) == 5  # the stepper's text, then four tokenizers side by side
    assert page.code[0].value == "'e' + '␣' -> 'e␣'"  # Shakespeare's first merge


def test_page_runs_through_router():
    at = run_router("tokenizers")
    assert errors(at) == []
    assert at.title[0].value == "Tokenizers"


def test_next_previous_and_slider_change_the_merge():
    at = run_page("tokenizers")
    step = at.slider(key=tok_state.TOK_STEP).value
    first, first_html = at.code[0].value, at.html[0].value
    at.button(key=tok_state.TOK_NEXT).click().run()
    assert at.slider(key=tok_state.TOK_STEP).value == step + 1
    assert at.code[0].value != first and at.html[0].value != first_html
    at.button(key=tok_state.TOK_PREV).click().run()
    assert at.code[0].value == first
    at.slider(key=tok_state.TOK_STEP).set_value(0).run()
    assert at.button(key=tok_state.TOK_PREV).disabled
    assert "no merges yet" in shown(at)
    assert errors(at) == []


def paste(text: str):
    at = run_page("tokenizers")
    at.radio(key=tok_state.TOK_SOURCE).set_value("Paste text").run()
    at.text_area(key=tok_state.TOK_PASTE).input(text).run()
    return at


def test_paste_before_typing_is_a_hint_not_an_error():
    at = run_page("tokenizers")
    at.radio(key=tok_state.TOK_SOURCE).set_value("Paste text").run()
    assert errors(at) == [] and not at.error
    assert "paste a text to train on" in shown(at)
    blank = paste("   \n  ")  # typed, but only whitespace: the reason, as before
    assert errors(blank) == [] and "only spaces and line breaks" in shown(blank)


def test_emoji_only_paste_says_so():
    short = paste("🙂🎉🚀")
    assert errors(short) == [] and short.error and "characters" in shown(short)
    long = paste("🙂🎉🚀🌹" * 40)  # long enough to train on: BPE works on the bytes
    assert errors(long) == [] and "no letters or digits" in shown(long)


def test_long_pastes_and_texts_work():
    at = paste("Now is the winter of our discontent. " * 541)  # 20,000 characters
    assert errors(at) == [] and not at.error
    # 20,800 characters: the browser stops typing at 20,000, and the server cuts the rest
    at.text_area(key=tok_state.TOK_TEXT).set_value("to be or not " * 1600).run()
    assert errors(at) == []
    assert len(at.text_area(key=tok_state.TOK_TEXT).value) == 20_000
    assert any("Only the first 2,000" in c.value for c in at.caption)  # drawing is capped


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, "binary"),
        ("Zwölf Boxkämpfer jagen Viktor quer über den Sylter Deich. ".encode("latin-1"), "utf-8"),
    ],
    ids=["binary", "latin-1"],
)
def test_bad_uploads_say_what_is_wrong(content, words):
    at = run_page("tokenizers")
    at.radio(key=tok_state.TOK_SOURCE).set_value("Upload a file").run()
    assert "choose a text file" in shown(at)
    at.file_uploader(key=tok_state.TOK_UPLOAD).upload("corpus.txt", content, "text/plain").run()
    assert errors(at) == [] and at.error and words in shown(at)


def test_upload_checks_in_the_core():
    with pytest.raises(CorpusError, match="binary"):
        decode_upload(b"\x00\x01\x02", 1000)
    with pytest.raises(CorpusError, match="larger than"):
        decode_upload(b"a" * 2000, 1000)


def test_vocabulary_of_256_has_nothing_to_step():
    at = run_page("tokenizers")
    assert at.slider(key=tok_state.TOK_VOCAB).min == 256
    at.slider(key=tok_state.TOK_VOCAB).set_value(256).run()
    assert errors(at) == [] and "just the bytes" in shown(at)


def test_ties_are_shown():
    at = run_page("tokenizers")
    corpus = shakespeare_text()[:300_000]  # what the page trains on by default
    merges = BPETokenizer.train(corpus, tok_state.TOK_DEFAULTS[tok_state.TOK_VOCAB]).merges
    step = next(i for i, m in enumerate(merges) if m.ties) + 1
    at.slider(key=tok_state.TOK_STEP).set_value(step).run()
    assert errors(at) == [] and f"a tie: {merges[step - 1].ties:,} other pair" in shown(at)


# ------------------------------------------- split characters, unknowns, special tokens

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

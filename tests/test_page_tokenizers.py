"""The Tokenizers page: runs alone and through the router, steps through merges, refuses bad
input with a message; and the pure builders behind it (lab/tokens_view.py)."""

import pytest

from lab.engine.views import visible
from lab.tokenizers import state as tok_state
from lab.tokenizers import tokens as tokens_view
from minigpt.tokenizers.bpe import GPT4_SPLIT_PATTERN, BPETokenizer, merge_pair, pair_counts
from minigpt.training.corpus import CorpusError, decode_upload, shakespeare_text
from tests.apptest import errors, run_page, run_router

# ---------------------------------------------------------------- pure builders


def test_visible_marks_whitespace():
    assert visible("a b\n\tc\r") == "a␣b↵⇥c\\r"  # the one renderer every page uses
    assert tokens_view.merge_label(" ", "t", " t") == "'␣' + 't' -> '␣t'"
    assert tokens_view.merge_label("\n", "\n") == "'↵' + '↵'"


def test_tokens_html_escapes_and_shows_whitespace():
    page = tokens_view.tokens_html([(60, "<"), (300, "a&b"), (62, ">"), (32, " "), (10, "\n")])
    assert ">&lt;</span>" in page and ">&gt;</span>" in page and ">a&amp;b</span>" in page
    assert "a&b" not in page and "><<" not in page
    assert 'title="id 300' in page and 'title="id 32' in page
    assert ">␣</span>" in page and ">↵</span>\n" in page  # a newline is marked, still breaks


def test_tokens_html_titles_are_escaped_and_highlight_outlines():
    page = tokens_view.tokens_html([(1, '"><b>x'), (7, "y")], highlight=7)
    assert "<b>" not in page
    assert page.count("outline:") == 1


def test_tokens_html_draws_at_most_limit():
    page = tokens_view.tokens_html([(i % 256, "x") for i in range(50)], limit=10)
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
    assert tokens_view.pieces([104, 105], chr) == [(104, "h"), (105, "i")]
    assert tokens_view.id_list([(1, "a"), (2, "b"), (3, "c")], limit=2) == "1, 2, …"


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
    assert len(page.html) == 4  # the stepper's text, then three tokenizers side by side
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


def test_empty_paste_says_so():
    at = paste("")
    assert errors(at) == [] and "empty" in shown(at) and at.error


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


def test_special_token_text_is_ordinary_text():
    at = run_page("tokenizers")
    at.text_area(key=tok_state.TOK_TEXT).input("Hello<|endoftext|>world").run()
    assert errors(at) == []
    gpt4 = at.html[3].value  # encoded like tiktoken's encode_ordinary: '<', '|', 'endo', ...
    assert ">&lt;</span>" in gpt4 and ">endo</span>" in gpt4

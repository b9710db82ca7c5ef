"""The Tokenizers page: runs alone and through the router, steps through merges, refuses bad
input with a message. Its pure builders are tests/test_tokens_view.py; split characters,
unknown characters and special tokens tests/test_page_tokenizers_pieces.py."""

import json

import pytest

from lab.tokenizers import state as tok_state
from minigpt.tokenizers.bpe import BPETokenizer
from minigpt.training.corpus import CorpusError, decode_upload, shakespeare_text
from tests.apptest import errors, run_page, run_router
from tests.tokenizers_page import paste, shown


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


def test_the_vocabulary_table_shows_a_dash_not_none_for_bytes():
    at = run_page("tokenizers")
    (table,) = [df for df in at.dataframe if "made from" in df.value.columns]
    frame = table.value
    bytes_rows = frame[frame["made from"] == "byte"]
    assert len(bytes_rows) == 256 and bytes_rows["count"].isna().all()
    assert frame["count"].dtype == "Int64"  # numbers, not text: sorting stays numeric
    assert table.proto.placeholder == "—"  # the browser's grid draws missing cells with this
    config = json.loads(table.proto.columns)
    assert config["count"]["type_config"]["format"] == "%,d"  # merge counts as 1,234

"""Hostile input on the Tokenizers page: empty, invisible, binary, mis-encoded and oversized
text, vocabulary sizes at the edges, and text to tokenize that the corpus never had. The rows
and their check are in tests/hostile.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from lab.tokenizers import state as tok_state
from tests.apptest import errors, page_path
from tests.hostile import BINARY, HUGE, LATIN1, UTF16, Row, check, fresh, setting, upload
from tests.test_run import TEXT

TOK_NORMAL = {
    tok_state.TOK_SOURCE: "Paste text",
    tok_state.TOK_PASTE: TEXT,
    tok_state.TOK_VOCAB: 320,
}


def tok_paste(text: str) -> Callable[[AppTest], object]:
    return setting(**{tok_state.TOK_SOURCE: "Paste text", tok_state.TOK_PASTE: text})


def tok_upload(name: str, data: bytes) -> Callable[[AppTest], object]:
    def act(at: AppTest) -> None:
        setting(**{tok_state.TOK_SOURCE: "Upload a file"})(at)
        upload(tok_state.TOK_UPLOAD, name, data)(at)

    return act


TOKENIZERS = [
    Row("empty paste", tok_paste(""), "info", "paste a text to train on"),
    Row("whitespace-only paste", tok_paste(" \n\t  \n"), "error", "only spaces and line breaks"),
    Row("too short to train on", tok_paste("abc"), "error", "at least 50"),
    Row(
        "only control and format characters",
        tok_paste("\x00\x07\u200d\u202e\x85\u2066" * 20),
        "error",
        "only invisible characters",
    ),
    Row(
        "no upload yet",
        setting(**{tok_state.TOK_SOURCE: "Upload a file"}),
        "info",
        "choose a text file",
    ),
    Row("20 MB upload", tok_upload("big.txt", HUGE), "error", "larger than the 1 MB limit"),
    Row("binary upload", tok_upload("a.png", BINARY), "error", "binary"),
    Row("latin-1 upload", tok_upload("de.txt", LATIN1), "error", "not UTF-8"),
    Row("UTF-16 upload", tok_upload("w.txt", UTF16), "error", "UTF-16"),
    Row("empty upload", tok_upload("empty.txt", b""), "error", "the text is empty"),
    Row(
        "vocabulary 256",
        setting(**{**TOK_NORMAL, tok_state.TOK_VOCAB: 256}),
        "info",
        "just the bytes",
    ),
    Row(
        "vocabulary beyond the text's pairs",
        setting(**{**TOK_NORMAL, tok_state.TOK_PASTE: "abcab" * 12, tok_state.TOK_VOCAB: 2048}),
        "info",
        "ran out of pairs",
    ),
    Row(
        "control, RTL and ZWJ text to tokenize",
        setting(
            **{
                **TOK_NORMAL,
                tok_state.TOK_TEXT: "\x00\x07\x1b[31m\u202eRomeo\u200f👩\u200d💻\ufeff",
            }
        ),
        "warning",
        "corpus never had",
    ),
    Row(
        "empty text to tokenize",
        setting(**{**TOK_NORMAL, tok_state.TOK_TEXT: ""}),
        "info",
        "type some text",
    ),
    Row(
        "regex characters in the search",
        setting(**{**TOK_NORMAL, tok_state.TOK_QUERY: "([\\*"}),
        None,
    ),
]


@pytest.fixture(scope="module")
def tokenizers_page() -> AppTest:
    return fresh(page_path("tokenizers"), **TOK_NORMAL)


@pytest.mark.parametrize("row", TOKENIZERS, ids=lambda r: r.name)
def test_tokenizers_page(tokenizers_page: AppTest, row: Row) -> None:
    at = tokenizers_page
    check(at, row)
    setting(
        **{
            **TOK_NORMAL,
            tok_state.TOK_TEXT: "But soft",
            tok_state.TOK_QUERY: "",
            tok_state.TOK_STEP: 1,
        }
    )(at)
    at.button(key=tok_state.TOK_NEXT).click().run()  # the ordinary interaction: one merge forward
    assert errors(at) == [] and not at.error
    assert at.slider(key=tok_state.TOK_STEP).value == 2

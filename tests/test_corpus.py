"""The Shakespeare corpus reads as plain dialogue; uploads and short texts fail in words."""

import re

import pytest

from minigpt.training.corpus import (
    CorpusError,
    check_corpus,
    decode_upload,
    play_titles,
    play_to_text,
    shakespeare_text,
)


def test_titles_are_the_plays_in_title_order():
    titles = play_titles()
    assert len(titles) >= 37
    assert {"Macbeth", "Hamlet", "The Tempest", "Measure for Measure"} <= set(titles)
    assert titles == sorted(titles, key=str.casefold)


def test_a_play_reads_like_tinyshakespeare():
    text = shakespeare_text(["Macbeth"])
    assert text.startswith("FIRST WITCH:\nWhen shall we three meet again\nIn thunder")
    assert "DUNCAN:\nWhat bloody man is that?" in text
    assert "Thunder and lightning" not in text  # stage directions are dropped
    for marker in ("#", "**", "_", "\\", "  \n", "\n\n\n"):
        assert marker not in text
    for block in text.strip("\n").split("\n\n"):  # every block: a speaker, then what they say
        speaker, *lines = block.split("\n")
        assert re.fullmatch(r"[^a-z:\n]+:", speaker), speaker
        assert lines and all(line.strip() == line and line for line in lines)


def test_same_plays_give_the_same_text_whatever_the_order():
    a = shakespeare_text(["Macbeth", "Hamlet"])
    assert a is shakespeare_text(["hamlet", "MACBETH"])  # cached under one key
    assert a.startswith(shakespeare_text(["Hamlet"]))


def test_whole_corpus_is_large_with_a_small_alphabet():
    text = shakespeare_text()
    assert len(text) > 4_000_000
    assert len(set(text)) < 80
    assert text == shakespeare_text(play_titles())


def test_unknown_play_suggests_a_close_title():
    with pytest.raises(CorpusError, match="Macbeth"):
        shakespeare_text(["Macbet"])
    with pytest.raises(CorpusError):
        shakespeare_text([])


def test_directions_are_dropped_and_interrupted_speech_joined():
    md = (
        "# A Play\n\n## ACT I\n\n### SCENE I. A heath.\n\n_Enter ONE and\nTWO_\n\n"
        "**ONE**  \nFirst line,  \n_\\[Aside]_  \nsecond line\\--\n\n*Thunder.*\n\n"
        "still mine — yes.\n\n**Second Lord**  \nHe'll __\\[ ]_  \nAy.\n"
    )
    assert play_to_text(md) == (
        "ONE:\nFirst line,\nsecond line--\nstill mine -- yes.\n\nSECOND LORD:\nHe'll\nAy.\n\n"
    )


def test_upload_strips_bom_and_normalises_line_ends():
    assert decode_upload("\ufeffa\r\nb\rc\n".encode(), 100) == "a\nb\nc\n"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"x" * 101, "larger than"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("héllo\nwörld".encode("latin-1"), "not UTF-8.*line 1"),
        ("hi".encode("utf-16"), "UTF-16"),
        (bytes(range(1, 32)) * 3, "binary"),
    ],
)
def test_bad_uploads_are_refused_with_the_reason(data, words):
    with pytest.raises(CorpusError, match=words):
        decode_upload(data, 100)


def test_check_corpus_explains_what_is_missing():
    assert check_corpus("to be or not to be", 10) == "to be or not to be"
    with pytest.raises(CorpusError, match="empty"):
        check_corpus("", 10)
    with pytest.raises(CorpusError, match="only spaces"):
        check_corpus(" \n\t ", 10)
    with pytest.raises(CorpusError, match=r"5 characters.*at least 10"):
        check_corpus("hello", 10)
    with pytest.raises(CorpusError, match="only invisible"):
        check_corpus("\x00\x07\u200d\u202e\u00a0\x85" * 20, 10)
    assert check_corpus("\x00" * 20 + "a", 10)  # one visible character is something to learn

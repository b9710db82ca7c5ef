"""The tokenizer protocol: round trips, unknown characters, JSON save/load, build_tokenizer."""

import json
import random

import pytest

from minigpt.tokenizers.bpe import BPETokenizer
from minigpt.tokenizers.tokenizer import (
    CharTokenizer,
    Tokenizer,
    UnknownCharactersError,
    WordTokenizer,
    build_tokenizer,
    load_tokenizer,
    save_tokenizer,
    tokenizer_from_dict,
)

TEXT = """First Citizen:
Before we proceed any further, hear me speak.\r\n
All:\tSpeak, speak.   Speak!

First Citizen:  You are all resolved rather to die than to famish?
Ünïcödé, 你好 and 😀 too; don't forget 1,234 digits.
"""


def random_unicode(rng: random.Random, n: int) -> str:
    """Any code point except the surrogates, which UTF-8 cannot carry."""
    chars = (chr(rng.randint(0, 0x2FFFF)) for _ in range(n))
    return "".join(c for c in chars if not 0xD800 <= ord(c) <= 0xDFFF)


def load_tokenizer_via_json(tok: Tokenizer) -> Tokenizer:
    return tokenizer_from_dict(json.loads(json.dumps(tok.to_dict())))


@pytest.fixture(scope="module", params=["char", "word", "bpe"])
def tok(request) -> Tokenizer:
    return build_tokenizer(request.param, TEXT, vocab_size=300)


def test_every_kind_follows_the_protocol(tok):
    assert isinstance(tok, Tokenizer)
    assert tok.kind in ("char", "word", "bpe")
    ids = tok.encode(TEXT)
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == TEXT
    assert tok.encode("") == [] and tok.decode([]) == ""
    assert all(isinstance(tok.token_str(i), str) for i in range(tok.vocab_size))


def test_save_and_load_round_trip(tok, tmp_path):
    path = tmp_path / "tok.json"
    save_tokenizer(tok, path)
    again = load_tokenizer(path)
    assert type(again) is type(tok) and again.vocab_size == tok.vocab_size
    assert again.encode(TEXT) == tok.encode(TEXT)
    assert load_tokenizer_via_json(tok).to_dict() == tok.to_dict()


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown tokenizer kind"):
        build_tokenizer("sentencepiece", TEXT)
    with pytest.raises(ValueError, match="unknown tokenizer kind"):
        tokenizer_from_dict({"kind": "nope"})


def test_build_bpe_uses_vocab_size():
    tok = build_tokenizer("bpe", TEXT * 3, vocab_size=270)
    assert isinstance(tok, BPETokenizer) and tok.vocab_size == 270


# --- characters ------------------------------------------------------------------------------


def test_char_vocabulary_is_the_sorted_characters():
    tok = CharTokenizer.train("hello")
    assert tok.chars == ["e", "h", "l", "o"] and tok.encode("hello") == [1, 0, 2, 2, 3]
    assert CharTokenizer.train("").vocab_size == 0


def test_char_round_trips_random_unicode():
    rng = random.Random(0)
    text = random_unicode(rng, 2_000)
    tok = CharTokenizer.train(text)
    assert tok.decode(tok.encode(text)) == text
    again = load_tokenizer_via_json(tok)
    assert again.encode(text) == tok.encode(text)


def test_unknown_characters_raise_with_the_culprits():
    tok = CharTokenizer.train("abc ")
    with pytest.raises(UnknownCharactersError, match="'z'") as err:
        tok.encode("a zebra!")
    assert isinstance(err.value, ValueError)
    assert set(err.value.chars) == {"z", "e", "r", "!"}


def test_known_drops_unknown_characters():
    tok = CharTokenizer.train("abc ")
    assert tok.known("a zebra!") == ("a ba", {"z", "e", "r", "!"})
    assert tok.known("") == ("", set())


# --- words -----------------------------------------------------------------------------------


def test_word_split_keeps_every_character():
    for text in (TEXT, " lead", "trail \n\n", "a\r\nb", "don't", ""):
        assert "".join(WordTokenizer.split(text)) == text
    assert WordTokenizer.split("Hi, you!\n") == ["Hi", ",", " ", "you", "!", "\n"]


def test_word_specials_and_unknown_words():
    tok = WordTokenizer.train("the cat and the hat")
    assert tok.token_str(0) == "<pad>" and tok.token_str(1) == "<unk>"
    assert tok.token_str(2) == " "  # the most frequent piece comes first
    ids = tok.encode("the dog")
    assert ids[-1] == 1 and tok.decode(ids) == "the <unk>"
    assert tok.decode([0, *tok.encode("the hat"), 0]) == "the hat"


def test_word_max_vocab_keeps_the_most_frequent():
    tok = WordTokenizer.train("b b b a a c", max_vocab=4)
    assert tok.vocab_size == 4 and tok.words[2:] == [" ", "b"]
    with pytest.raises(ValueError, match="max_vocab"):
        WordTokenizer.train("x", max_vocab=1)


def test_word_round_trips_random_unicode():
    rng = random.Random(1)
    text = random_unicode(rng, 2_000) + TEXT
    tok = WordTokenizer.train(text)
    assert tok.decode(tok.encode(text)) == text

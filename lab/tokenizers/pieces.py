"""Tokens as the Tokenizers page draws them: ids with their bytes, and the groups they form.

A byte-level tokenizer may cut one character into several tokens (東 is three UTF-8 bytes, and
cl100k_base makes two tokens of them). Drawn one by one, those tokens are unreadable escapes
like `\\xe6\\x9d`; drawn as a group, the character shows once over the bytes of each token. A
character tokenizer meets the opposite problem: a character it never saw has no id, and it is
kept in place as an "unknown" piece (and counted) rather than silently dropped.
No Streamlit here: these are pure functions, tested on known answers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import NamedTuple

import tiktoken

from minigpt.tokenizers.bpe import render_token
from minigpt.tokenizers.production import MODELS, definition, rank_count
from minigpt.tokenizers.tokenizer import CharTokenizer

TEXT, SPECIAL, UNKNOWN = "text", "special", "unknown"  # the kinds of Piece
PRODUCTION = tuple(MODELS)  # the production encodings shown side by side: GPT-4's, GPT-4o's


class Piece(NamedTuple):
    """One token as drawn: its id (None for an unknown character), its display text, its kind
    (TEXT, SPECIAL or UNKNOWN) and, for byte-level tokenizers, the bytes behind it."""

    id: int | None
    text: str
    kind: str = TEXT
    raw: bytes | None = None


def pieces(ids: Sequence[int], token_str: Callable[[int], str]) -> list[Piece]:
    """Pieces from ids and a display function, without bytes (so never grouped).

    Example: pieces([104, 105], chr) -> [Piece(104, "h"), Piece(105, "i")]
    """
    return [Piece(i, token_str(i)) for i in ids]


def byte_pieces(
    ids: Sequence[int],
    token_bytes: Callable[[int], bytes],
    special_ids: Collection[int] = (),
) -> list[Piece]:
    """Pieces of a byte-level tokenizer: each token's bytes, shown as text where they decode.

    Example: byte_pieces([0xE6], lambda i: bytes([i]))[0].text -> '\\\\xe6'
    """
    out = []
    for i in ids:
        raw = token_bytes(i)
        out.append(Piece(i, render_token(raw), SPECIAL if i in special_ids else TEXT, raw))
    return out


def char_pieces(tokenizer: CharTokenizer, text: str) -> list[Piece]:
    """The character tokenizer's pieces of text; characters it has no id for become UNKNOWN
    pieces in place, so the text keeps its shape and the count includes them.

    Example: char_pieces(CharTokenizer.train("ab"), "a(b") -> ids [0, None, 1]
    """
    return [
        Piece(tokenizer.stoi[c], c) if c in tokenizer.stoi else Piece(None, c, UNKNOWN)
        for c in text
    ]


def production_pieces(encoding: tiktoken.Encoding, text: str) -> list[Piece]:
    """A production tokenizer's pieces, special tokens such as <|endoftext|> encoded as one id
    each, as tiktoken does with allowed_special="all".

    Example: production_pieces(cl100k, "<|endoftext|>") -> [Piece(100257, "<|endoftext|>",
    "special", b"<|endoftext|>")]
    """
    ids = encoding.encode(text, allowed_special="all")
    special = {encoding.encode_single_token(s) for s in encoding.special_tokens_set}
    return byte_pieces(ids, encoding.decode_single_token_bytes, special)


def _starts_character(raw: bytes) -> bool:
    """Whether bytes begin on a character boundary: UTF-8 continuation bytes are 10xxxxxx."""
    return not raw or raw[0] & 0xC0 != 0x80


def groups(tokens: Sequence[Piece]) -> list[list[Piece]]:
    """Consecutive pieces cut at character boundaries: a group of several pieces is a run of
    byte tokens that only together decode to whole characters.

    A piece without bytes is a group of its own. Between two byte tokens, the cut falls inside
    a character exactly when the second begins with a continuation byte.
    Example: groups of cl100k's [b"\\xe6\\x9d", b"\\xb1", b"!"] -> [[東's two tokens], [!]]
    """
    out: list[list[Piece]] = []
    for piece in tokens:
        joins = (
            out
            and piece.raw is not None
            and out[-1][-1].raw is not None
            and not _starts_character(piece.raw)
        )
        if joins:
            out[-1].append(piece)
        else:
            out.append([piece])
    return out


def group_text(group: Sequence[Piece]) -> str:
    """What a group reads as: its bytes decoded together (invalid bytes escaped).

    Example: group_text([Piece(1, "", raw=b"\\xe6\\x9d"), Piece(2, "", raw=b"\\xb1")]) -> "東"
    """
    if any(p.raw is None for p in group):
        return "".join(p.text for p in group)
    return render_token(b"".join(p.raw for p in group))


def count_unknown(tokens: Sequence[Piece]) -> int:
    """How many pieces are characters the tokenizer has no id for."""
    return sum(p.kind == UNKNOWN for p in tokens)


def production_vocab(name: str) -> tuple[int, int]:
    """(ordinary tokens, special tokens) of a production encoding.

    Example: production_vocab("cl100k_base") -> (100256, 5)
    """
    return rank_count(name), len(definition(name)[1])

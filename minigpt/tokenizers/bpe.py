"""Byte-level BPE: encode by merging pairs in the order training learned them.

A trained tokenizer starts from the 256 byte values and owns a list of merges; merge i turned
a pair of ids into id 256 + i. Encoding replays those merges, earliest first, inside each
pre-split chunk. `from_tiktoken` builds the same kind of tokenizer from a table of ranks (such
as GPT-4's cl100k_base) and encodes exactly as tiktoken does.

Special tokens are never produced by `encode`: text like '<|endoftext|>' is encoded as the
ordinary characters it is made of, like tiktoken's `encode_ordinary`. They still decode and
display, so ids coming from elsewhere can be read.
"""

import base64
import functools
import heapq
from collections.abc import Callable, Iterable

import regex

from minigpt.tokenizers.bpe_train import Merge, Pair, merge_pair, pair_counts, train_merges

__all__ = [
    "GPT2_SPLIT_PATTERN",
    "GPT4_SPLIT_PATTERN",
    "KNOWN_PATTERNS",
    "BPETokenizer",
    "Merge",
    "bpe_merge",
    "check_pattern",
    "merge_pair",
    "pair_counts",
    "recover_merges",
    "render_token",
]

# GPT-4's (cl100k_base) pre-split: contractions, words with one leading non-letter, numbers of
# up to 3 digits, punctuation runs, newlines, and whitespace that does not eat the next word's
# leading space. The possessive quantifiers (?+, ++) need the `regex` module.
GPT4_SPLIT_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)

# GPT-2's pre-split: the same idea before possessive quantifiers, so runs of spaces and letters
# may backtrack (but only over one chunk's worth of characters).
GPT2_SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# The only patterns a tokenizer read from a file may use. A regex is a program: one written to
# backtrack catastrophically keeps a core busy long after its tab is closed, and Python's
# regex engines cannot be interrupted, so unknown patterns are refused rather than timed.
KNOWN_PATTERNS = frozenset({GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN})

# The chunk cache is shared by every session using a tokenizer, so it is bounded by what it
# holds: 200,000 characters of chunks, then it starts afresh. Every chunk has a character, so
# that also bounds its entries. (The plays' 35,000 distinct chunks come to 264,000 characters;
# 163,000 of them held 4.4 MB.)
_CACHE_CHARS = 200_000  # characters of the cached chunks, summed
_CACHE_MAX_CHUNK = 20_000  # longer chunks (whole texts when there is no pattern) are not kept


def bpe_merge(ids: list[int], merged_id: Callable[[Pair], int | None]) -> list[int]:
    """Merge adjacent pairs, lowest merged id first and leftmost on ties, until none merges.

    `merged_id((a, b))` is the id of the token a+b, or None; lower ids were learned earlier, so
    this replays training's order, and it is tiktoken's rule when ids are its ranks. A heap
    keeps long chunks (a whole text when there is no pre-split pattern) fast.
    Example: bpe_merge([97, 97, 97], {(97, 97): 256}.get) -> [256, 97]
    """
    ids = list(ids)
    n = len(ids)
    nxt = [*range(1, n), -1]  # position -> next live position, -1 at the end
    prv = list(range(-1, n - 1))  # position -> previous live position, -1 at the start
    heap = []  # (merged id, left position): the earliest merge, then the leftmost
    for i in range(n - 1):
        new = merged_id((ids[i], ids[i + 1]))
        if new is not None:
            heap.append((new, i))
    heapq.heapify(heap)
    while heap:
        new, i = heapq.heappop(heap)
        j = nxt[i]
        # Entries are not removed when a neighbour merges; skip those that went stale.
        if ids[i] < 0 or j < 0 or merged_id((ids[i], ids[j])) != new:
            continue
        ids[i], ids[j] = new, -1  # position i holds the merged token, j is gone
        after = nxt[j]
        nxt[i] = after
        if after >= 0:
            prv[after] = i
        # The new token forms fresh pairs with both neighbours.
        before = prv[i]
        if before >= 0 and (left := merged_id((ids[before], new))) is not None:
            heapq.heappush(heap, (left, before))
        if after >= 0 and (right := merged_id((new, ids[after]))) is not None:
            heapq.heappush(heap, (right, i))
    return [t for t in ids if t >= 0]


def check_pattern(pattern: str | None) -> str | None:
    """pattern itself if it is None or one of KNOWN_PATTERNS, else a ValueError saying why.

    Example: check_pattern(GPT4_SPLIT_PATTERN) is GPT4_SPLIT_PATTERN; check_pattern("(a+)+$") raises.
    """
    if pattern is not None and pattern not in KNOWN_PATTERNS:
        raise ValueError(
            "unknown pre-split pattern: a saved tokenizer may use only GPT-2's or GPT-4's "
            "(cl100k) pattern, or none, so that no pattern can keep the server busy"
        )
    return pattern


def render_token(token: bytes) -> str:
    """Show token bytes as text, escaping bytes that are not valid UTF-8 on their own.

    Example: render_token(b"caf\\xc3\\xa9") -> 'café'; render_token(b"\\xe2") -> '\\\\xe2'
    """
    return token.decode("utf-8", errors="backslashreplace")


def recover_merges(ranks: dict[bytes, int]) -> list[Merge]:
    """Rebuild the merge list behind a rank table: each token splits where BPE would join it.

    Encoding a token's own bytes with only lower ranks allowed stops at two parts, which are
    the pair that was merged to make it (count and ties are unknown and left at 0).
    Example: recover_merges({b"a": 0, b"b": 1, b"ab": 2}) -> [Merge((0, 1), 2, b"ab", 0)]
    """
    vocab = {rank: token for token, rank in ranks.items()}  # int -> bytes
    merges = []
    for rank in sorted(r for r, token in vocab.items() if len(token) > 1):
        token = vocab[rank]

        def earlier(pair: Pair, limit: int = rank) -> int | None:
            r = ranks.get(vocab[pair[0]] + vocab[pair[1]])
            return r if r is not None and r < limit else None

        parts = bpe_merge([ranks[bytes([byte])] for byte in token], earlier)
        if len(parts) != 2:
            raise ValueError(f"rank {rank} ({token!r}) is not a merge of two earlier tokens")
        merges.append(Merge((parts[0], parts[1]), rank, token, 0))
    return merges


class BPETokenizer:
    """Byte-level BPE with an optional regex pre-split; see `train` and `from_tiktoken`."""

    kind = "bpe"

    def __init__(
        self,
        merges: Iterable[Merge],
        pattern: str | None = None,
        special_tokens: dict[str, int] | None = None,
    ):
        self._merges: list[Merge] | None = list(merges)
        self._ranks: dict[bytes, int] | None = None  # bytes -> id, set by from_tiktoken
        self.pattern = pattern
        self.special_tokens = dict(special_tokens or {})  # str -> int
        self._special_names = {i: s for s, i in self.special_tokens.items()}  # int -> str
        self._byte_ids = list(range(256))  # byte value -> id of its one-byte token
        self._vocab = {i: bytes([i]) for i in range(256)}  # int -> bytes
        self._vocab.update((m.new_id, m.token) for m in self._merges)
        self._merged_ids = {m.pair: m.new_id for m in self._merges}  # (int, int) -> int
        self._split = regex.compile(pattern).findall if pattern else None
        self._cache: dict[tuple[str, int | None], list[int]] = {}  # (chunk, limit) -> ids
        self._cached_chars = 0  # characters of the chunks in _cache

    @classmethod
    def train(
        cls,
        text: str,
        vocab_size: int = 512,
        pattern: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> "BPETokenizer":
        """Learn vocab_size - 256 merges (fewer if the text runs out of pairs); see train_merges.

        Ties go to the highest count, then the smallest pair (a, b) in id order.
        Example: train("aaabdaaabac", 259).encode("aaabdaaabac") -> [258, 100, 258, 97, 99]
        """
        return cls(train_merges(text, vocab_size, pattern, progress), pattern)

    @classmethod
    def from_tiktoken(
        cls,
        mergeable_ranks: dict[bytes, int],
        pattern: str,
        special_tokens: dict[str, int] | None = None,
    ) -> "BPETokenizer":
        """Wrap a tiktoken rank table; ids are the ranks and encoding merges by rank like tiktoken.

        Encoding looks merged bytes up in the table, as tiktoken does, so the ids match it
        exactly; `merges` is recovered from the ranks only when first asked for. The table is
        kept by reference, so change neither afterwards.
        """
        missing = [b for b in range(256) if bytes([b]) not in mergeable_ranks]
        if missing:
            raise ValueError(f"ranks are not byte-level: no token for bytes {missing[:5]}...")
        tok = cls([], pattern, special_tokens)
        tok._merges = None
        tok._ranks = mergeable_ranks  # shared, not copied: 100k entries is 5-10 MB a copy
        tok._byte_ids = [tok._ranks[bytes([b])] for b in range(256)]
        tok._vocab = {rank: token for token, rank in tok._ranks.items()}
        return tok

    @property
    def merges(self) -> list[Merge]:
        """The merges in the order they apply; for tiktoken ranks, recovered on first use."""
        if self._merges is None:
            self._merges = recover_merges(self._ranks or {})
        return self._merges

    @functools.cached_property
    def vocab_size(self) -> int:
        """One more than the largest id, special tokens included."""
        return max([*self._vocab, *self._special_names]) + 1

    @functools.cached_property
    def _merge_ids(self) -> list[int]:
        """Ids of multi-byte tokens in the order their merges apply."""
        return sorted(i for i, token in self._vocab.items() if len(token) > 1)

    def _merged_id(self, limit: int | None) -> Callable[[Pair], int | None]:
        """The pair -> merged id lookup for bpe_merge, ignoring merges from `limit` on."""
        if self._ranks is None:
            lookup = self._merged_ids.get
        else:
            ranks, vocab = self._ranks, self._vocab

            def lookup(pair: Pair) -> int | None:
                return ranks.get(vocab[pair[0]] + vocab[pair[1]])

        if limit is None:
            return lookup
        return lambda pair: new if (new := lookup(pair)) is not None and new < limit else None

    def forget_chunks(self) -> None:
        """Empty the chunk cache, as a new tokenizer starts (a cold encode, for benchmarks)."""
        self._cache.clear()
        self._cached_chars = 0

    def encode(self, text: str, n_merges: int | None = None) -> list[int]:
        """Encode text; with n_merges=k, as if only the first k merges had been learned.

        n_merges=0 gives the raw bytes. Each pre-split chunk is merged on its own and cached,
        so repeated words (and a UI slider moving over k) cost a dictionary look-up.
        Example: tok.encode("hello", n_merges=0) -> [104, 101, 108, 108, 111]
        """
        limit = None
        if n_merges is not None:
            if n_merges < 0:
                raise ValueError(f"n_merges must be >= 0, got {n_merges}")
            merge_ids = self._merge_ids
            limit = merge_ids[n_merges] if n_merges < len(merge_ids) else None
        chunks = self._split(text) if self._split else [text] if text else []
        merged_id = self._merged_id(limit)
        out: list[int] = []
        for chunk in chunks:
            ids = self._cache.get((chunk, limit))
            if ids is None:
                raw = [self._byte_ids[b] for b in chunk.encode("utf-8")]
                ids = bpe_merge(raw, merged_id)
                if len(chunk) <= _CACHE_MAX_CHUNK:
                    if self._cached_chars + len(chunk) > _CACHE_CHARS:
                        self.forget_chunks()
                    self._cache[(chunk, limit)] = ids
                    self._cached_chars += len(chunk)
            out.extend(ids)
        return out

    def token_bytes(self, i: int) -> bytes:
        """The bytes behind one id (a special token's text as UTF-8)."""
        if i in self._special_names:
            return self._special_names[i].encode("utf-8")
        if i not in self._vocab:
            raise ValueError(f"unknown token id {i} (vocab_size is {self.vocab_size})")
        return self._vocab[i]

    def decode(self, ids: Iterable[int]) -> str:
        """Join the tokens' bytes; bytes cut mid-character show as U+FFFD."""
        return b"".join(self.token_bytes(i) for i in ids).decode("utf-8", errors="replace")

    def token_str(self, i: int) -> str:
        """Display one token: its text, with lone non-UTF-8 bytes escaped like '\\xe2'."""
        return self._special_names.get(i) or render_token(self.token_bytes(i))

    def to_dict(self) -> dict:
        """JSON-safe state: the merges, or for tiktoken ranks the base64 rank table."""
        d: dict = {
            "kind": self.kind,
            "pattern": self.pattern,
            "special_tokens": self.special_tokens,
        }
        if self._ranks is not None:
            d["ranks"] = [[base64.b64encode(t).decode("ascii"), r] for t, r in self._ranks.items()]
        else:
            d["merges"] = [[*m.pair, m.new_id, m.count, m.ties] for m in self.merges]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "BPETokenizer":
        """Rebuild a tokenizer saved by to_dict; only a known pre-split pattern is accepted."""
        check_pattern(d.get("pattern"))
        if "ranks" in d:
            ranks = {base64.b64decode(t): r for t, r in d["ranks"]}
            return cls.from_tiktoken(ranks, d["pattern"], d.get("special_tokens"))
        vocab = {i: bytes([i]) for i in range(256)}  # int -> bytes
        merges = []
        for a, b, new_id, count, ties in d["merges"]:
            vocab[new_id] = vocab[a] + vocab[b]
            merges.append(Merge((a, b), new_id, vocab[new_id], count, ties))
        return cls(merges, d.get("pattern"), d.get("special_tokens"))

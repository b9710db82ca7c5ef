"""The textbook BPE trainer: recount every pair of the whole corpus before each merge.

Slow on purpose-free grounds: it is the definition, written as plainly as possible, that the
incremental trainer in minigpt/bpe_train.py must reproduce merge for merge. Tests use it on
small corpora; benchmarks time it against the fast trainer.
"""

import itertools
from collections import Counter

import regex


def merge_everywhere(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace `pair` left to right without overlaps: 'aaa' with (a, a) gives 'X a'."""
    out = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def train_reference(
    text: str, vocab_size: int, pattern: str | None = None
) -> list[tuple[tuple[int, int], int, int, int]]:
    """Return (pair, new_id, count, ties) per merge, recounting all pairs at every step."""
    pieces = regex.findall(pattern, text) if pattern else [text]
    chunks = [list(piece.encode("utf-8")) for piece in pieces]
    merges = []
    for new_id in range(256, vocab_size):
        counts: Counter[tuple[int, int]] = Counter()
        for ids in chunks:
            counts.update(itertools.pairwise(ids))
        if not counts:
            break
        # Highest count first, then the smallest pair.
        pair = min(counts, key=lambda p: (-counts[p], p))
        ties = sum(1 for c in counts.values() if c == counts[pair]) - 1
        merges.append((pair, new_id, counts[pair], ties))
        chunks = [merge_everywhere(ids, pair, new_id) for ids in chunks]
    return merges

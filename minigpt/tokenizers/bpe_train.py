"""Byte-level BPE training with incremental pair counts.

The textbook trainer recounts every adjacent pair of the whole corpus before each merge, so
training costs (corpus size) x (number of merges). Here the corpus is counted once; a merge
then only visits the positions where its pair occurs and adjusts the counts of the few pairs
around each of them. The merges come out identical to the textbook trainer
(tests/bpe_reference.py), including ties and overlapping runs such as 'aaaa'.

Data structures:
- the corpus is one flat sequence of positions; each unique pre-split chunk is laid out once
  and every position remembers how often its chunk occurs (its weight), so 'the' seen 9,000
  times costs one chunk with weight 9,000;
- merged-away positions are unlinked from a doubly linked list rather than deleted, so
  positions never shift; each pair keeps a plain list of its left positions, and entries
  that went stale (a neighbour merged first) are skipped when the pair is merged;
- a heap ordered by (-count, pair) finds the next merge; entries go stale when counts drop
  and are refreshed lazily when they reach the top.

The textbook helpers `pair_counts` and `merge_pair` live here too, for showing one step.
"""

import contextlib
import gc
import heapq
import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import regex

Pair = tuple[int, int]


@dataclass(frozen=True)
class Merge:
    """One training step: `pair` became token `new_id`; frozen so it can key caches."""

    pair: Pair  # (left id, right id)
    new_id: int
    token: bytes  # the bytes the new token stands for
    count: int  # how often the pair occurred when it was chosen (overlaps counted)
    ties: int = 0  # how many other pairs had that same top count at that step


def pair_counts(
    ids: list[int], counts: dict[Pair, int] | None = None, weight: int = 1
) -> dict[Pair, int]:
    """Count adjacent pairs (overlapping), adding `weight` each into `counts` if given.

    Example: pair_counts([1, 1, 1, 2]) -> {(1, 1): 2, (1, 2): 1}
    """
    counts = {} if counts is None else counts
    for pair in itertools.pairwise(ids):
        counts[pair] = counts.get(pair, 0) + weight
    return counts


def merge_pair(ids: list[int], pair: Pair, new_id: int) -> list[int]:
    """Replace each occurrence of `pair`, left to right, without overlaps.

    Example: merge_pair([97, 97, 97, 98], (97, 97), 256) -> [256, 97, 98]
    """
    out = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def split_chunks(text: str, pattern: str | None) -> Counter[str]:
    """Pre-split text with `pattern` and count each distinct chunk; no pattern keeps one chunk.

    Example: split_chunks("a b a", r" ?\\w") -> Counter({"a": 1, " b": 1, " a": 1})
    """
    if pattern is None:
        return Counter([text] if text else [])
    return Counter(regex.findall(pattern, text))


class _Corpus:
    """The training corpus as linked positions, with pair counts kept up to date."""

    def __init__(self, chunks: Counter[str]):
        self.ids: list[int] = []  # position -> token id, or -1 once merged into its left
        self.nxt: list[int] = []  # position -> next live position in its chunk, -1 at the end
        self.prv: list[int] = []  # position -> previous live position in its chunk, -1 at start
        self.weight: list[int] = []  # position -> how many times its chunk occurs
        self.where: dict[Pair, list[int]] = defaultdict(list)  # (int, int) -> left positions
        where = self.where
        # Without a pre-split the text is one chunk seen once, so every weight is 1.
        self.all_once = all(freq == 1 for freq in chunks.values())
        for chunk, freq in chunks.items():
            data = chunk.encode("utf-8")
            start, end = len(self.ids), len(self.ids) + len(data)
            self.ids.extend(data)
            self.weight.extend([freq] * len(data))
            self.nxt.extend(range(start + 1, end + 1))
            self.prv.extend(range(start - 1, end - 1))
            self.nxt[end - 1] = -1
            self.prv[start] = -1
            # pairwise walks the chunk's bytes in C rather than indexing lists position by
            # position; a chunk's last byte has no pair, so pairs never cross chunks.
            for p, pair in enumerate(itertools.pairwise(data), start):
                where[pair].append(p)
        self.counts: dict[Pair, int] = {  # (int, int) -> weighted occurrences
            pair: self.weigh(positions) for pair, positions in where.items()
        }

    def weigh(self, positions: list[int]) -> int:
        """How many occurrences `positions` stand for: each counts as often as its chunk.

        Example: positions [0, 7] in chunks seen 3 times and once -> 4
        """
        if self.all_once:  # skip a million weight lookups when they are all 1
            return len(positions)
        return sum(self.weight[p] for p in positions)

    def merge(self, pair: Pair, new_id: int) -> dict[Pair, int]:
        """Merge `pair` left to right in every chunk; return count changes of the other pairs.

        Example: chunk 'xaab', pair (a, a) -> 'x X b' and {(x, a): -1, (x, X): +1, (a, b): -1,
        (X, b): +1}, with the merged pair itself left out (its count is exactly zero afterwards).
        """
        ids, nxt, prv, where = self.ids, self.nxt, self.prv, self.where
        a, b = pair
        # Every merged occurrence turns (x, a) on its left into (x, new) and (b, y) on its
        # right into (new, y). The loop only records the positions of those neighbours, filed
        # under the single id x or y (cheap int keys, no pair tuples per position); the count
        # changes are added up per neighbour afterwards.
        before: dict[int, list[int]] = defaultdict(list)  # x -> left positions of (x, new)
        after: dict[int, list[int]] = defaultdict(list)  # y -> left positions of (new, y)
        # A pair's positions were appended left to right (at the start, or all in the merge
        # that made its new token), so they are already sorted; sorting is a cheap safeguard.
        # Visiting each chunk left to right settles overlaps the same way as the textbook
        # merge: in 'aaa' the first two a's merge and the third stays.
        for p in sorted(where.pop(pair)):
            q = nxt[p]
            # The list is lazy: skip positions whose pair changed since they were recorded.
            # This also skips a repeated position, since its first visit changed ids[p].
            if ids[p] != a or q < 0 or ids[q] != b:
                continue
            left, right = prv[p], nxt[q]
            if left >= 0:  # (x, a) becomes (x, new); x is new itself after an overlap
                before[ids[left]].append(left)
            if right >= 0:  # (b, y) becomes (new, y)
                after[ids[right]].append(p)
                prv[right] = p
            # p now holds the new token; q is unlinked and marked dead.
            ids[p], ids[q] = new_id, -1
            nxt[p] = right
        delta: dict[Pair, int] = defaultdict(int)  # (int, int) -> change in count
        for x, lefts in before.items():
            w = self.weigh(lefts)
            delta[(x, a)] -= w
            delta[(x, new_id)] += w
            where[(x, new_id)] = lefts
        for y, lefts in after.items():
            w = self.weigh(lefts)
            delta[(b, y)] -= w
            delta[(new_id, y)] += w
            where[(new_id, y)] = lefts
        delta.pop(pair, None)
        return delta


@contextlib.contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for code that makes no reference cycles.

    Training allocates many small pairs and lists, and every few hundred of them CPython
    walks the young containers, now and then all of them, the corpus's million-slot lists
    included: a quarter of training time on 1 MB. Reference counting still frees everything.
    Example: with _cycle_collector_paused(): train ... (gc.isenabled() is False inside)
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@_cycle_collector_paused()
def train_merges(
    text: str,
    vocab_size: int,
    pattern: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Merge]:
    """Learn up to vocab_size - 256 merges; stop early when no adjacent pair is left.

    Ties go to the highest count, then the smallest pair (a, b) in id order, so training is
    deterministic. `progress(done, total)` is called every few merges and once at the end
    (`done` < `total` there if the corpus ran out of pairs).
    Example: train_merges("aaabdaaabac", 259) -> pairs (97, 97), (256, 97), (257, 98)
    """
    if vocab_size < 256:
        raise ValueError(f"vocab_size must be at least 256 (one id per byte), got {vocab_size}")
    corpus = _Corpus(split_chunks(text, pattern))
    counts = corpus.counts
    n_with_count = Counter(counts.values())  # count -> how many pairs have it (for ties)
    heap = [(-c, pair) for pair, c in counts.items()]  # (-count, pair): max count, min pair
    heapq.heapify(heap)
    vocab = {i: bytes([i]) for i in range(256)}  # int -> bytes
    merges: list[Merge] = []
    total = vocab_size - 256
    every = max(1, total // 100)
    for new_id in range(256, vocab_size):
        # Counts only fall between pushes, so a top entry whose count still matches is the
        # true best; a stale one is pushed back with its current count.
        while heap and counts.get(heap[0][1], 0) != -heap[0][0]:
            pair = heapq.heappop(heap)[1]
            if counts.get(pair, 0) > 0:
                heapq.heappush(heap, (-counts[pair], pair))
        if not heap:
            break  # every chunk is a single token: nothing left to merge
        neg_count, pair = heapq.heappop(heap)
        count = -neg_count
        vocab[new_id] = vocab[pair[0]] + vocab[pair[1]]
        merges.append(Merge(pair, new_id, vocab[new_id], count, n_with_count[count] - 1))
        n_with_count[count] -= 1
        del counts[pair]
        for other, change in corpus.merge(pair, new_id).items():
            if change == 0:
                continue
            old = counts.get(other, 0)
            if old > 0:
                n_with_count[old] -= 1
            if old + change > 0:
                n_with_count[old + change] += 1
                counts[other] = old + change
                # Only pairs containing the new token are new to the heap; older pairs only
                # shrink and are fixed lazily above.
                if new_id in other:
                    heapq.heappush(heap, (-(old + change), other))
            else:
                del counts[other]
                corpus.where.pop(other, None)
        if progress is not None and len(merges) % every == 0:
            progress(len(merges), total)
    if progress is not None:
        progress(len(merges), total)
    return merges

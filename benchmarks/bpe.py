"""BPE training: our incremental trainer against the full-recount reference and HF tokenizers.

The full-recount reference (tests/bpe_reference.py) recounts every pair of the corpus before
each merge, so on 1 MB it needs about a second per merge without a pre-split and two with
GPT-4's pre-split (it walks ~250,000 chunk lists): 768 merges would take 15-40 minutes.
So it is measured two ways, both said in the row's note:
- a whole, smaller job (ours and the reference, same text and vocabulary, merges compared);
- on the full 1 MB, its first K merges, projected to all 768. A reference merge costs at least
  in proportion to the text's current length (recount and merge both walk it, plus a per-chunk
  cost that never shrinks), and the lengths after each merge follow from our identical merges,
  so time(K) x sum(lengths, all merges) / sum(lengths, first K) is a lower bound on its time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from benchmarks.table import Row, median
from minigpt.tokenizers.bpe import GPT4_SPLIT_PATTERN
from minigpt.tokenizers.bpe_train import Merge, split_chunks, train_merges
from tests.bpe_reference import train_reference  # `python -m benchmarks` runs from the root

REF_MERGES = 10  # merges the reference makes on the full 1 MB (10-25 s each mode)
MODES = {"no pre-split": None, "GPT-4 pre-split": GPT4_SPLIT_PATTERN}


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """Seconds fn(*args) took, and what it returned."""
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def as_reference(merges: list[Merge]) -> list[tuple[tuple[int, int], int, int, int]]:
    """Our merges in the reference's (pair, new_id, count, ties) form, to compare exactly."""
    return [(m.pair, m.new_id, m.count, m.ties) for m in merges]


def lengths(text: str, pattern: str | None, merges: list[Merge]) -> list[int]:
    """Tokens in the whole corpus before each merge (an upper bound on what each merge removes).

    Example: lengths("aaab", None, train_merges("aaab", 257)) == [4]
    """
    n = sum(len(chunk.encode("utf-8")) * k for chunk, k in split_chunks(text, pattern).items())
    out = []
    for m in merges:
        out.append(n)
        n -= m.count  # overlaps counted: at least the true length, so the bound holds
    return out


def hf_train(text: str, vocab_size: int, pattern: str | None) -> float:
    """Seconds for Hugging Face tokenizers' BPE trainer on the same bytes (Rust, threads)."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    if pattern is None:
        tok.pre_tokenizer = byte_level  # the whole text is one "word"
    else:
        split = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
        tok.pre_tokenizer = pre_tokenizers.Sequence([split, byte_level])
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=0,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    return _timed(tok.train_from_iterator, [text], trainer)[0]


def run(text: str, quick: bool, log: Callable[[str], None]) -> list[Row]:
    rows: list[Row] = []
    big = text[:1_000_000]
    small_n, small_vocab = (30_000, 320) if quick else (100_000, 384)
    small = text[:small_n]
    for mode, pattern in MODES.items():
        # A whole job both ways: every merge measured and compared.
        t_ref, ref = _timed(train_reference, small, small_vocab, pattern)
        ours_t = []
        for _ in range(3):
            t, ours = _timed(train_merges, small, small_vocab, pattern)
            ours_t.append(t)
        same = as_reference(ours) == ref
        log(
            f"bpe {mode} {small_n:,} chars -> {small_vocab}: ours {median(ours_t):.3f} s, "
            f"reference {t_ref:.2f} s, merges identical: {same}"
        )
        rows.append(
            Row(
                f"BPE train {small_n // 1000} KB → {small_vocab}, {mode}: vs full recount",
                median(ours_t),
                "s",
                t_ref,
                "tests/bpe_reference.py",
                better="lower",
                target_ratio=50,
                note=f"whole job measured; merges identical: {'yes' if same else 'NO'}",
            )
        )
        if quick:
            continue
        # The 1 MB job: ours whole, the reference's first K merges, projected.
        k = REF_MERGES
        t_big, big_merges = _timed(train_merges, big, 1024, pattern)
        t_k, ref_k = _timed(train_reference, big, 256 + k, pattern)
        same_k = as_reference(big_merges[:k]) == ref_k
        lens = lengths(big, pattern, big_merges)
        projected = t_k * sum(lens) / sum(lens[:k])
        log(
            f"bpe {mode} 1 MB -> 1024: ours {t_big:.2f} s; reference {k} merges {t_k:.1f} s, "
            f"projected {projected:.0f} s; first {k} identical: {same_k}"
        )
        rows.append(
            Row(
                f"BPE train 1 MB → 1024, {mode}: vs full recount",
                t_big,
                "s",
                projected,
                "projected",
                better="lower",
                target_ratio=50,
                note=f"reference ran {k} of {len(big_merges)} merges in {t_k:.1f} s, projected "
                f"as a lower bound (see benchmarks/bpe.py); those {k} identical: "
                f"{'yes' if same_k else 'NO'}",
            )
        )
    rows += _against_hf(text, quick, log)
    return rows


def _against_hf(text: str, quick: bool, log: Callable[[str], None]) -> list[Row]:
    """Against Rust. HF's trainer works word by word: with no pre-split the whole text is one
    word it rescans at every merge (13 s already at 100 KB, growing with the square), so that
    mode is compared on a smaller text."""
    rows = []
    for mode, pattern in MODES.items():
        n = 1_000_000 if pattern else (30_000 if quick else 100_000)
        part = text[:n]
        repeats = 1 if (pattern is None and not quick) else 3
        ours_t, hf_t = [], []
        for _ in range(repeats):  # alternated: ours, HF, ours, HF, ...
            ours_t.append(_timed(train_merges, part, 1024, pattern)[0])
            hf_t.append(hf_train(part, 1024, pattern))
        label = "1 MB" if n == 1_000_000 else f"{n // 1000} KB"
        log(f"bpe vs HF {mode} {label}: ours {median(ours_t):.2f} s, HF {median(hf_t):.2f} s")
        rows.append(
            Row(
                f"BPE train {label} → 1024, {mode}: vs HF tokenizers (Rust)",
                median(ours_t),
                "s",
                median(hf_t),
                "tokenizers",
                better="lower",
                target_ratio=0.1,
                note=f"goal: within 10x of Rust; median of {repeats}; HF's ties may differ",
            )
        )
    return rows

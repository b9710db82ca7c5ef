"""What a tokenizer the server keeps costs in memory: rebuilt after training (lab/cache/compact.py)
against as trained, and a BPE run's corpus encoded by a copy against by the shared tokenizer.

Each side runs in a fresh process: read the anonymous memory (after gc and `malloc_trim`, so
only what is still held counts), build the thing the lab caches, read it again. The growth is
what the cache entry keeps, the blocks it pins included. Sides alternate, REPEATS times each;
the median growth is reported, ours (the lab's way) against the reference (the plain way).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections.abc import Callable

from benchmarks.table import Row

REPEATS = 2  # fresh processes per side; the figures repeat to within about 1 MB
_CHILD = r"""
import ctypes, gc, json, sys
import torch
from lab.cache.compact import compacted
from lab.engine.runspec import BPE_TRAIN_CHARS
from minigpt.tokenizers.bpe import GPT4_SPLIT_PATTERN, BPETokenizer
from minigpt.tokenizers.tokenizer import WordTokenizer
from minigpt.training.corpus import shakespeare_text
from minigpt.training.data import TokenData

def anon_mb():
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("RssAnon"))
    return int(line.split()[1]) / 1024

case, lab_way = sys.argv[1], sys.argv[2] == "1"
keep = compacted if lab_way else (lambda obj: obj)
text = shakespeare_text()
before = anon_mb()
if case == "word":
    kept = keep(WordTokenizer.train(text, 2000))
elif case == "bpe":
    kept = keep(BPETokenizer.train(text[:300_000], 512))
else:  # a BPE run's inputs, as lab/cache/training.run_inputs builds them
    tok = compacted(BPETokenizer.train(text[:BPE_TRAIN_CHARS], 512, GPT4_SPLIT_PATTERN))
    kept = (tok, TokenData.from_text(text, keep(tok), 0.1))
print(json.dumps(anon_mb() - before))
"""
CASES = {
    "word": "a word tokenizer of the plays (2,000 words): rebuilt / as trained",
    "bpe": "BPE, 512 tokens on 300,000 characters: rebuilt / as trained",
    "run": "a BPE run's tokenizer and encoded plays: encoded by a copy / by the shared tokenizer",
}


def kept_mb(case: str, lab_way: bool) -> float:
    """The anonymous memory one fresh process still holds after building `case`, in MB."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, case, "1" if lab_way else "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def run(log: Callable[[str], None]) -> list[Row]:
    rows = []
    for case, what in CASES.items():
        ours, ref = [], []
        for _ in range(REPEATS):  # alternated, so a change on the machine hits both sides
            ours.append(kept_mb(case, True))
            ref.append(kept_mb(case, False))
        log(f"kept memory, {case}: the lab's way {ours} MB, the plain way {ref} MB")
        rows.append(
            Row(
                f"Memory a cache keeps: {what}",
                statistics.median(ours),
                "MB",
                ref=statistics.median(ref),
                ref_name="plain",
                better="lower",
                note=f"anonymous RSS growth after malloc_trim, median of {REPEATS} fresh processes",
            )
        )
    return rows

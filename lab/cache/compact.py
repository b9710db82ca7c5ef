"""Entries a cache keeps for the server's life, rebuilt so they do not pin the memory their
making used.

CPython keeps small objects (strings, ints, tuples) in 1 MiB blocks and hands a block back to
the operating system only once every object in it is gone. Training a tokenizer makes millions
of short-lived objects (every word of the plays, every pair and its count) and keeps a few
thousand of them, which end up one or two to a block among the rest: when training ends the
blocks stay, nearly empty, for as long as the tokenizer is cached. Rebuilt after training, the
same tokenizer fits in a few blocks and the others go back.

The same goes for what a tokenizer remembers while it encodes: BPE keeps each chunk it has
encoded, so the plays are encoded for training by a copy that is then let go (cache/training.py).

Measured in fresh processes after `malloc_trim` (`python -m benchmarks --only kept_memory`):
a word tokenizer of the plays (2,000 words) kept 48 MB as trained and 3.3 MB rebuilt; BPE with
512 tokens on 300,000 characters, 16.1 and 6.6 MB; a BPE run's tokenizer and encoded plays,
42 MB encoded by the shared tokenizer and 10 MB by a copy.
"""

from __future__ import annotations

import pickle
from typing import TypeVar

T = TypeVar("T")


def compacted(obj: T) -> T:
    """A copy of obj made of new objects, built now that the ones its making used are gone.

    `copy.deepcopy` would not do: it keeps strings, ints and bytes as they are, and those are
    what pins the blocks. A pickle round trip rebuilds every one of them. It runs only on
    objects this process has just made (a tokenizer it trained), never on anything read from
    outside: the lab opens no pickle a user could hand it (checkpoints are safetensors).

    Example: compacted(WordTokenizer.train(text)).encode(s) == WordTokenizer.train(text).encode(s)
    """
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

"""Cached tokenizers are rebuilt after training (lab/cache/compact.py) and the shared BPE
tokenizer does not keep the chunks of a corpus it encoded for a run (cache/training.py).

What they save is measured by `python -m benchmarks --only kept_memory`; here, what must hold
for the saving to be free: the rebuilt tokenizer is the same tokenizer, made of new objects.
"""

from __future__ import annotations

from lab import cache
from lab.cache.compact import compacted
from lab.engine.runspec import BPE_TRAIN_CHARS
from minigpt.tokenizers.bpe import GPT4_SPLIT_PATTERN, BPETokenizer
from minigpt.tokenizers.tokenizer import WordTokenizer
from minigpt.training.data import TokenData

TEXT = "To be, or not to be, that is the question: whether 'tis nobler in the mind.\n" * 20
PROBE = "Whether to be nobler, or not? ☃ That is the question."


def test_a_rebuilt_word_tokenizer_is_the_same_tokenizer_in_new_objects():
    trained = WordTokenizer.train(TEXT, 12)
    rebuilt = compacted(trained)
    assert rebuilt.words == trained.words and rebuilt.stoi == trained.stoi
    assert rebuilt.encode(PROBE) == trained.encode(PROBE)
    assert rebuilt.decode(rebuilt.encode(TEXT)) == trained.decode(trained.encode(TEXT))
    # New objects, not the ones training made (those are what pinned memory). Strings of one
    # character are the interpreter's own singletons, shared by everything, so words only.
    words = [
        (a, b) for a, b in zip(rebuilt.words[2:], trained.words[2:], strict=True) if len(a) > 1
    ]
    assert words and not any(a is b for a, b in words)


def test_a_rebuilt_bpe_tokenizer_encodes_and_decodes_as_trained():
    for pattern in (None, GPT4_SPLIT_PATTERN):
        trained = BPETokenizer.train(TEXT, 300, pattern)
        rebuilt = compacted(trained)
        assert rebuilt.merges == trained.merges and rebuilt.pattern == pattern
        assert rebuilt.encode(PROBE) == trained.encode(PROBE)
        assert rebuilt.decode(rebuilt.encode(PROBE)) == PROBE
        tokens = [m.token for m in rebuilt.merges]
        assert not any(a is m.token for a, m in zip(tokens, trained.merges, strict=True))


def test_a_bpe_run_encodes_its_corpus_without_filling_the_shared_tokenizers_chunk_cache():
    tok, data = cache.run_inputs("test-compact", "bpe", 300, 0.1, TEXT)
    shared = cache.trained_bpe(TEXT[:BPE_TRAIN_CHARS], 300, GPT4_SPLIT_PATTERN).tokenizer
    assert tok is shared  # the run and the Tokenizers page share one tokenizer...
    assert tok._cache == {}  # ...which does not keep the chunks of the corpus encoded for it
    expected = TokenData.from_text(TEXT, BPETokenizer(tok.merges, tok.pattern), 0.1)
    assert data.ids.tolist() == expected.ids.tolist()  # the same ids as the tokenizer's own

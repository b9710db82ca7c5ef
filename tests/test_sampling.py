"""Sampling properties: greedy is argmax, filters keep what they promise, seeds repeat."""

import pytest
import torch

from minigpt import GPT, GPTConfig, generate
from minigpt.config import POS_EMBS
from minigpt.sampling import filter_probs, generate_steps


@pytest.fixture
def model() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, vocab_size=11)).eval()


def test_temperature_zero_and_top_k_one_are_both_greedy():
    logits = torch.randn(4, 50)
    greedy = logits.argmax(-1)
    for probs in (filter_probs(logits, temperature=0), filter_probs(logits, top_k=1)):
        assert torch.equal(probs.argmax(-1), greedy)
        assert torch.allclose(probs.max(-1).values, torch.ones(4))


def test_top_k_keeps_exactly_k_tokens():
    probs = filter_probs(torch.randn(3, 30), top_k=5)
    assert ((probs > 0).sum(-1) == 5).all()
    torch.testing.assert_close(probs.sum(-1), torch.ones(3))


def test_top_p_keeps_the_smallest_set_reaching_p():
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
    assert (filter_probs(logits, top_p=0.5) > 0).tolist() == [True, False, False, False]
    assert (filter_probs(logits, top_p=0.6) > 0).tolist() == [True, True, False, False]
    assert (filter_probs(logits, top_p=0.0) > 0).sum() == 1  # p = 0 still keeps the likeliest


def test_low_temperature_sharpens():
    logits = torch.randn(20)
    assert filter_probs(logits, temperature=0.5).max() > filter_probs(logits, temperature=2.0).max()


def test_generate_with_top_k_one_equals_greedy(model):
    idx = torch.tensor([[1, 2, 3]])
    a = generate(model, idx, 12, temperature=1.0, top_k=1)
    b = generate(model, idx, 12, temperature=0.0)
    assert torch.equal(a, b) and a.shape == (1, 15)


def test_same_seed_same_text_and_context_is_cropped_past_block_size(model):
    idx = torch.tensor([[1, 2, 3]])
    runs = [generate(model, idx, 20, generator=torch.Generator().manual_seed(7)) for _ in range(2)]
    assert torch.equal(*runs)  # 23 tokens > block_size 8: the learned table never overflowed


def test_generate_steps_match_generate_and_show_candidates(model):
    idx = torch.tensor([[4, 5]])
    steps = list(generate_steps(model, idx, 6, top_k=3, generator=torch.Generator().manual_seed(3)))
    whole = generate(model, idx, 6, top_k=3, generator=torch.Generator().manual_seed(3))
    assert [s.token for s in steps] == whole[0, 2:].tolist()
    for s in steps:
        assert len(s.after) <= 3 and s.token in [t for t, _ in s.after]
        assert abs(sum(p for _, p in s.after) - 1) < 1e-5 or len(s.after) == 3


def test_generate_leaves_training_mode_as_it_was(model):
    model.train()
    generate(model, torch.tensor([[1]]), 2)
    assert model.training


def generate_without_cache(model, idx, max_new_tokens, temperature, generator):
    """The plain loop the cache must reproduce: a full forward over the last block_size tokens."""
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.block_size :])
        probs = filter_probs(logits[:, -1, :], temperature)
        idx = torch.cat((idx, torch.multinomial(probs, 1, generator=generator)), dim=1)
    return idx


@pytest.mark.parametrize("pos_emb", POS_EMBS)
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("temperature", [0.0, 1.5])
# With block_size 8: 3 + 5 tokens fit; 3 + 14 outgrow the window; 10 + 4 start past it.
@pytest.mark.parametrize(("prompt_len", "max_new_tokens"), [(3, 5), (3, 14), (10, 4)])
def test_cached_generation_equals_generation_without_a_cache(
    pos_emb, batch, temperature, prompt_len, max_new_tokens
):
    torch.manual_seed(0)
    cfg = GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=8, vocab_size=11, pos_emb=pos_emb)
    model = GPT(cfg).eval()
    idx = torch.randint(0, 11, (batch, prompt_len))
    args = (model, idx, max_new_tokens, temperature)
    cached = generate(*args, generator=torch.Generator().manual_seed(5))
    plain = generate_without_cache(*args, generator=torch.Generator().manual_seed(5))
    assert torch.equal(cached, plain)
    if batch == 1:
        g = torch.Generator().manual_seed(5)
        steps = [s.token for s in generate_steps(*args, generator=g)]
        assert steps == plain[0, prompt_len:].tolist()


def test_interleaved_generations_share_no_cache(model):
    # Two sessions stepping through the same shared model at once, as in the app.
    prompts, seeds = [torch.tensor([[1, 2]]), torch.tensor([[7]])], [1, 2]
    runs = [
        generate_steps(model, p, 10, generator=torch.Generator().manual_seed(s))
        for p, s in zip(prompts, seeds, strict=True)
    ]
    together = [[step.token for step in steps] for steps in zip(*runs, strict=True)]
    for i, (p, s) in enumerate(zip(prompts, seeds, strict=True)):
        alone = generate(model, p, 10, generator=torch.Generator().manual_seed(s))
        assert [pair[i] for pair in together] == alone[0, p.size(1) :].tolist()

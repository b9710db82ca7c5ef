"""The sampling stages: each one is what generate does, and the cuts keep what they promise."""

import math

import pytest
import torch

from minigpt import GPT, GPTConfig, generate
from minigpt.analysis.nexttoken import next_logits, sampling_stages, step_generator


@pytest.fixture(scope="module")
def model() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=8, vocab_size=13)).eval()


PROBS = torch.tensor([0.5, 0.3, 0.15, 0.05])  # known by construction


def stages(**kw):
    return sampling_stages(PROBS.log(), generator=torch.Generator().manual_seed(0), **kw)


def test_raw_is_the_softmax_and_temperature_one_changes_nothing():
    s = stages()
    torch.testing.assert_close(s.raw, PROBS)
    torch.testing.assert_close(s.tempered, PROBS)
    torch.testing.assert_close(s.final, PROBS)
    assert s.n_kept == 4


def test_temperature_zero_is_argmax():
    s = stages(temperature=0.0)
    assert s.sampled == 0 and s.n_kept == 1
    assert s.tempered.tolist() == [1.0, 0.0, 0.0, 0.0]
    torch.testing.assert_close(s.raw, PROBS)  # the model's own opinion is untouched


def test_temperature_two_is_the_square_root_renormalised():
    s = stages(temperature=2.0)
    torch.testing.assert_close(s.tempered, PROBS.sqrt() / PROBS.sqrt().sum())


def test_top_k_one_keeps_one_token():
    s = stages(top_k=1)
    assert s.kept.tolist() == [True, False, False, False]
    assert s.kept_by_top_k.tolist() == [True, False, False, False]
    assert s.sampled == 0 and s.final[0] == 1.0


def test_top_p_keeps_the_smallest_set_reaching_p_and_renormalises():
    s = stages(top_p=0.7)  # 0.5 is short of 0.7, 0.5 + 0.3 reaches it
    assert s.kept.tolist() == [True, True, False, False]
    assert s.kept_by_top_k.all()  # top-k is off: the cut is top-p's alone
    torch.testing.assert_close(s.final, torch.tensor([0.625, 0.375, 0.0, 0.0]))
    assert s.sampled in (0, 1)


def test_top_k_then_top_p_on_what_is_left():
    s = stages(top_k=3, top_p=0.9)  # after top-k: 0.5/.95, 0.3/.95, 0.15/.95; 0.842 < 0.9
    assert s.kept_by_top_k.tolist() == [True, True, True, False]
    assert s.kept.tolist() == [True, True, True, False]
    assert math.isclose(float(s.final.sum()), 1.0, rel_tol=1e-6)


@pytest.mark.parametrize(
    "temperature, top_k, top_p",
    [(1.0, None, None), (0.7, 5, None), (1.3, None, 0.8), (0.0, 3, 0.5)],
)
def test_the_sampled_token_is_generates_first_token(model, temperature, top_k, top_p):
    ids = [1, 4, 2, 7]
    for seed in range(5):
        s = sampling_stages(
            next_logits(model, ids), temperature, top_k, top_p, step_generator(seed, 0)
        )
        out = generate(
            model,
            torch.tensor([ids]),
            1,
            temperature,
            top_k,
            top_p,
            generator=torch.Generator().manual_seed(seed),
        )
        assert s.sampled == int(out[0, -1])


def test_next_logits_reads_the_last_block_size_tokens(model):
    long = [*range(13), 3, 5]
    torch.testing.assert_close(next_logits(model, long), next_logits(model, long[-8:]))
    with pytest.raises(ValueError):
        next_logits(model, [])


def test_step_generator_repeats_a_step():
    a = torch.rand(3, generator=step_generator(5, 2))
    assert torch.equal(a, torch.rand(3, generator=step_generator(5, 2)))

"""The logit lens: its last layer is the model's own output, and it leaves the model unhooked."""

import pytest
import torch

from minigpt import GPT, GPTConfig
from minigpt.analysis.lens import lens_logits, logit_lens, residual_stream


@pytest.fixture(scope="module", params=["learned", "rope", "alibi"])
def model(request) -> GPT:
    torch.manual_seed(0)
    cfg = GPTConfig(n_layer=3, n_head=2, n_embd=16, block_size=8, vocab_size=11)
    return GPT(GPTConfig(**{**cfg.__dict__, "pos_emb": request.param})).eval()


IDS = [1, 5, 2, 9, 3]


def test_the_last_layer_is_the_models_own_output(model):
    logits, _ = model(torch.tensor([IDS]))
    probs = torch.softmax(logits[0], -1)  # (T, V)
    lens = logit_lens(model, IDS, k=4)
    assert lens.top_ids.shape == (3, len(IDS), 4)
    top_probs, top_ids = probs.topk(4, dim=-1)
    assert torch.equal(lens.top_ids[-1], top_ids)
    torch.testing.assert_close(lens.top_probs[-1], top_probs)
    assert torch.equal(lens.final_ids, logits[0].argmax(-1))
    assert (lens.final_rank[-1] == 0).all()


def test_rank_and_probability_of_the_final_pick(model):
    lens = logit_lens(model, IDS, k=11)  # the whole vocabulary: rank is the place in top_ids
    for layer in range(3):
        for t in range(len(IDS)):
            place = lens.top_ids[layer, t].tolist().index(int(lens.final_ids[t]))
            assert int(lens.final_rank[layer, t]) <= place  # ties may share a rank
            torch.testing.assert_close(lens.final_prob[layer, t], lens.top_probs[layer, t, place])


def test_the_stream_is_each_blocks_output_and_hooks_are_removed(model):
    idx = torch.tensor([IDS])
    with residual_stream(model) as stream:
        model(idx)
    assert len(stream) == 3 and stream[0].shape == (1, len(IDS), 16)
    x = model.embed(idx)
    for block, seen in zip(model.h, stream, strict=True):
        x = block(x)
        torch.testing.assert_close(seen, x)
    assert all(not block._forward_hooks for block in model.h)
    torch.testing.assert_close(lens_logits(model, stream[-1]), model(idx)[0])


def test_too_many_or_no_tokens(model):
    with pytest.raises(ValueError):
        logit_lens(model, [])
    with pytest.raises(ValueError):
        logit_lens(model, [1] * 9)


def test_another_threads_pass_is_not_recorded(model):
    import threading

    idx = torch.tensor([IDS])
    with residual_stream(model) as stream:
        other = threading.Thread(target=lambda: model(torch.tensor([[1, 2]])))
        other.start()
        other.join()
        assert stream == []  # a session sharing the model ran while our hooks were on
        model(idx)
    assert len(stream) == 3 and stream[0].shape[1] == len(IDS)

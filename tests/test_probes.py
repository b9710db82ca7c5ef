"""Attention maps are probability rows, causal, and the offset score reads the right diagonal."""

import torch

from minigpt import GPT, GPTConfig, attention_maps
from minigpt.analysis.heads import offset_score
from minigpt.analysis.probes import capture


def model(pos_emb: str = "learned") -> GPT:
    torch.manual_seed(0)
    return GPT(
        GPTConfig(n_layer=2, n_head=3, n_embd=24, block_size=16, vocab_size=13, pos_emb=pos_emb)
    )


def test_attention_rows_sum_to_one_and_nothing_looks_ahead():
    maps = attention_maps(model(), torch.randint(0, 13, (2, 10)))
    assert maps.shape == (2, 2, 3, 10, 10)
    torch.testing.assert_close(maps.sum(-1), torch.ones(2, 2, 3, 10))
    assert maps.triu(1).abs().max() == 0


def test_attention_maps_restore_training_mode_and_leave_no_hooks():
    m = model()
    m.train()
    attention_maps(m, torch.randint(0, 13, (1, 5)))
    assert m.training and not any(mod._forward_hooks for mod in m.modules())


def test_offset_score_reads_the_right_diagonal():
    T = 6
    prev = torch.zeros(1, 1, 1, T, T)
    prev[..., 0, 0] = 1
    for t in range(1, T):
        prev[..., t, t - 1] = 1  # a perfect previous-token head
    assert offset_score(prev, 1).item() == 1.0
    assert offset_score(prev, 2).item() == 0.0


def test_capture_on_one_thread_is_not_seen_by_another():
    """Sessions share one model: one session's capture must not record (or slow) another's pass."""
    import threading

    m = model().eval()
    idx = torch.randint(0, 13, (1, 6))
    other: dict = {}

    def other_session():
        other["active"] = any(block.attn.probs.active for block in m.h)
        other["logits"], _ = m(idx)

    with capture(m) as mine:
        t = threading.Thread(target=other_session)
        t.start()
        t.join()
        assert mine == {}  # the other session's forward pass recorded nothing here
        m(idx)
    assert set(mine) == {"h.0.attn.probs", "h.1.attn.probs"}
    assert other["active"] is False


# The head scores (induction, duplicate-token, ...) are tested in tests/test_heads.py.

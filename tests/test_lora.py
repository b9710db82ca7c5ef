"""LoRA: zero-initialised B changes nothing, gradients reach only adapters, merging is exact."""

import pytest
import torch

from minigpt.config import GPTConfig
from minigpt.finetune.lora import (
    LoRAConfig,
    add_lora,
    load_adapters,
    lora_modules,
    merge_lora,
    save_adapters,
    trainable_params,
)
from minigpt.model import GPT

CFG = GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=16, vocab_size=11)


def _model() -> GPT:
    torch.manual_seed(0)
    return GPT(CFG).eval()


def _ids() -> torch.Tensor:
    return torch.randint(0, 11, (2, 16), generator=torch.Generator().manual_seed(1))


@torch.no_grad()
def _randomise_b(model: GPT) -> None:
    """Give every adapter a non-zero B, as training would."""
    gen = torch.Generator().manual_seed(2)
    for lora in lora_modules(model).values():
        lora.B.copy_(torch.randn(lora.B.shape, generator=gen) * 0.1)


def test_zero_initialised_b_leaves_the_logits_unchanged():
    model = _model()
    before = model(_ids())[0]
    add_lora(model, LoRAConfig(rank=4))
    assert torch.equal(model(_ids())[0], before)


def test_adapters_wrap_every_linear_of_attention_and_mlp_in_the_chosen_layers():
    model = _model()
    names = add_lora(model, LoRAConfig(rank=2, layers=(1,), targets=("mlp",)))
    assert names == ["h.1.mlp.c_fc", "h.1.mlp.c_proj"]
    everything = add_lora(_model(), LoRAConfig(rank=2))
    linears = sum(isinstance(m, torch.nn.Linear) for b in _model().h for m in b.modules())
    assert len(everything) == linears  # q, k, v and c_proj, then c_fc and c_proj, per block


def test_gradients_reach_only_the_adapters():
    model = _model()
    add_lora(model, LoRAConfig(rank=4))
    _randomise_b(model)  # with B = 0, A's first gradient is zero too
    ids = _ids()
    _, loss = model(ids, ids)
    loss.backward()
    adapters = {id(p) for lora in lora_modules(model).values() for p in (lora.A, lora.B)}
    for name, p in model.named_parameters():
        if id(p) in adapters:
            assert p.requires_grad and p.grad is not None and p.grad.abs().sum() > 0, name
        else:
            assert not p.requires_grad and p.grad is None, name


def test_every_adapter_changes_the_output():
    """Each adapted layer's weight is read through its adapter, however the model reads it
    (the attention concatenates query, key and value weights rather than calling them)."""
    model = _model()
    add_lora(model, LoRAConfig(rank=2))
    base = model(_ids())[0]
    for name, lora in lora_modules(model).items():
        with torch.no_grad():
            lora.B.fill_(0.5)
            changed = model(_ids())[0]
            lora.B.zero_()
        assert not torch.allclose(changed, base), name


def test_merged_and_unmerged_give_the_same_logits():
    model = _model()
    add_lora(model, LoRAConfig(rank=4, alpha=8))
    _randomise_b(model)
    unmerged = model(_ids())[0]
    merge_lora(model)
    assert not lora_modules(model)
    assert set(model.state_dict()) == set(_model().state_dict())  # a plain GPT again
    assert all(p.requires_grad for p in model.parameters())
    torch.testing.assert_close(model(_ids())[0], unmerged, rtol=1e-5, atol=1e-5)


def test_trainable_parameters_are_rank_times_in_plus_out_per_layer():
    model = _model()
    _, total = trainable_params(model)
    add_lora(model, LoRAConfig(rank=3, layers=(0,), targets=("attn",)))
    c = CFG.n_embd
    trainable, with_adapters = trainable_params(model)
    # c_attn maps C to 3C (query, key and value at once), c_proj C to C.
    assert trainable == 3 * (c + 3 * c) + 3 * (c + c)
    assert with_adapters == total + trainable


def test_adapters_save_and_load(tmp_path):
    model = _model()
    cfg = LoRAConfig(rank=2, layers=(0, 1), targets=("attn", "mlp"))
    add_lora(model, cfg)
    _randomise_b(model)
    save_adapters(tmp_path / "a.safetensors", model, cfg)
    fresh = _model()
    assert load_adapters(fresh, tmp_path / "a.safetensors") == cfg
    torch.testing.assert_close(fresh(_ids())[0], model(_ids())[0])


@pytest.mark.parametrize(
    ("cfg", "words"),
    [
        (LoRAConfig(rank=0), "rank must be at least 1"),
        (LoRAConfig(layers=(5,)), "layers must be between 0 and 1"),
        (LoRAConfig(targets=("embeddings",)), "targets must be some of"),
    ],
)
def test_bad_settings_are_refused_in_words(cfg, words):
    with pytest.raises(ValueError, match=words):
        add_lora(_model(), cfg)
